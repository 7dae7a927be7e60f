"""The pricing transaction as one explicit state machine, and the pricing rules PRC-1 … PRC-8 (M (四)).

Pure: no I/O; `now` is always passed in. Every refusal names the rule that explains it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from servicekit.errors import InvalidState, PolicyViolation

METHODS = ("agreement", "listing", "auction")  # PRC-3
LISTING_DAYS = 15  # PRC-6: "半个月" — nobody delists within half a month
DAY = timedelta(hours=24)  # RULES.md: a period of N days from T ends at T + N×24h


class State(StrEnum):
    """Where a transaction stands."""

    DRAFT = "draft"
    IN_NOTICE = "in_notice"
    NOTICE_CLEAR = "notice_clear"
    NOTICE_OBJECTED = "notice_objected"
    LISTED = "listed"
    LISTING_EXPIRED = "listing_expired"
    AUCTION_OPEN = "auction_open"
    AUCTION_FAILED = "auction_failed"
    CONCLUDED = "concluded"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    """What can happen to a transaction, by a person or by the passing of time."""

    PUBLISH_NOTICE = "publish_notice"
    CLOSE_NOTICE_CLEAR = "close_notice_clear"
    CLOSE_NOTICE_OBJECTED = "close_notice_objected"
    PUBLISH_LISTING = "publish_listing"
    DELIST = "delist"
    EXPIRE_LISTING = "expire_listing"
    OPEN_AUCTION = "open_auction"
    CLOSE_AUCTION_WON = "close_auction_won"
    CLOSE_AUCTION_FAILED = "close_auction_failed"
    CONCLUDE = "conclude"
    WITHDRAW = "withdraw"


S, A = State, Action
_OPEN_FOR_WITHDRAWAL = (S.DRAFT, S.IN_NOTICE, S.NOTICE_CLEAR, S.NOTICE_OBJECTED, S.LISTING_EXPIRED, S.AUCTION_FAILED)

# (method, state, action) → next state. Anything not listed is refused.
TRANSITIONS: dict[tuple[str, State, Action], State] = {
    # PRC-4: agreement price → public notice; PRC-5: its end decides clear or objected.
    ("agreement", S.DRAFT, A.PUBLISH_NOTICE): S.IN_NOTICE,
    ("agreement", S.IN_NOTICE, A.CLOSE_NOTICE_CLEAR): S.NOTICE_CLEAR,
    ("agreement", S.IN_NOTICE, A.CLOSE_NOTICE_OBJECTED): S.NOTICE_OBJECTED,
    ("agreement", S.NOTICE_CLEAR, A.CONCLUDE): S.CONCLUDED,
    # PRC-6: objected → listing at the agreement price; 15 days without delisting → expired → conclusion.
    ("agreement", S.NOTICE_OBJECTED, A.PUBLISH_LISTING): S.LISTED,
    ("agreement", S.LISTED, A.DELIST): S.CONCLUDED,
    ("agreement", S.LISTED, A.EXPIRE_LISTING): S.LISTING_EXPIRED,
    ("agreement", S.LISTING_EXPIRED, A.CONCLUDE): S.CONCLUDED,
    # PRC-3/PRC-7: a listing from the start.
    ("listing", S.DRAFT, A.PUBLISH_LISTING): S.LISTED,
    ("listing", S.LISTED, A.DELIST): S.CONCLUDED,
    ("listing", S.LISTED, A.EXPIRE_LISTING): S.LISTING_EXPIRED,
    # PRC-8: an auction.
    ("auction", S.DRAFT, A.OPEN_AUCTION): S.AUCTION_OPEN,
    ("auction", S.AUCTION_OPEN, A.CLOSE_AUCTION_WON): S.CONCLUDED,
    ("auction", S.AUCTION_OPEN, A.CLOSE_AUCTION_FAILED): S.AUCTION_FAILED,
    # Withdrawal while no third party can hold a claim (an open listing or auction must run out).
    **{(method, state, A.WITHDRAW): S.WITHDRAWN for method in METHODS for state in _OPEN_FOR_WITHDRAWAL},
}

# The rule cited when an action is refused in the current state.
REFUSAL_RULES: dict[Action, str] = {
    A.PUBLISH_NOTICE: "PRC-4",
    A.PUBLISH_LISTING: "PRC-6",
    A.DELIST: "PRC-7",
    A.OPEN_AUCTION: "PRC-8",
    A.WITHDRAW: "PRC-9",  # a concluded or withdrawn transaction is a closed record
}


def next_state(method: str, state: State | str, action: Action) -> State:
    """The state after `action`, or InvalidState (409) naming the rule that forbids it."""
    state = State(state)
    target = TRANSITIONS.get((method, state, action))
    if target is not None:
        return target
    raise InvalidState(f"a {method} transaction in state {state.value!r} does not allow {action.value}", rule=_refusal_rule(state, action))


def _refusal_rule(state: State, action: Action) -> str:
    if action is A.CONCLUDE:
        # PRC-6 while objections keep the deal on the market; otherwise the notice has not cleared (PRC-4).
        return "PRC-6" if state in (S.NOTICE_OBJECTED, S.LISTED, S.LISTING_EXPIRED) else "PRC-4"
    if action is A.WITHDRAW and state in (S.LISTED, S.AUCTION_OPEN):
        # A delisting party (PRC-7) or a bidder (PRC-8) may still take it: the offer runs out.
        return "PRC-7" if state is S.LISTED else "PRC-8"
    return REFUSAL_RULES.get(action, "PRC-4")


def due_action(
    state: State | str, due_at: datetime | None, now: datetime, *, objected: bool = False, has_winning_bid: bool = False
) -> Action | None:
    """The time-driven transition due at `now`, if any: notice end (PRC-4/5), listing expiry (PRC-6), auction close (PRC-8)."""
    if due_at is None or now < due_at:
        return None
    state = State(state)
    if state is S.IN_NOTICE:
        return A.CLOSE_NOTICE_OBJECTED if objected else A.CLOSE_NOTICE_CLEAR
    if state is S.LISTED:
        return A.EXPIRE_LISTING
    if state is S.AUCTION_OPEN:
        return A.CLOSE_AUCTION_WON if has_winning_bid else A.CLOSE_AUCTION_FAILED
    return None


# --- rules checked when a transaction is opened ---------------------------------------------


def check_method(method: str) -> None:
    """PRC-3: the price is set by agreement, listing or auction."""
    if method not in METHODS:
        raise PolicyViolation("PRC-3", f"method must be one of {', '.join(METHODS)}, not {method!r}")


@dataclass(frozen=True)
class Appraisal:
    """The unit's appraisal decision (PRC-2)."""

    performed: bool
    value: Decimal | None = None
    report_reference: str | None = None


def check_appraisal(counterparty_ownership: str | None, appraisal: Appraisal | None) -> None:
    """PRC-1: a wholly state-owned counterparty needs no appraisal. PRC-2: otherwise the unit's decision comes first."""
    if counterparty_ownership == "wholly_state_owned" and appraisal is None:
        return  # PRC-1
    if appraisal is None:
        raise PolicyViolation(
            "PRC-2",
            "the counterparty is not a wholly state-owned enterprise (or is not yet known): "
            "record the unit's appraisal decision before a price is set",
        )
    if appraisal.performed and (appraisal.value is None or not (appraisal.report_reference or "").strip()):
        raise PolicyViolation("PRC-2", "a performed appraisal records its value and report reference")
    if appraisal.value is not None and appraisal.value <= 0:
        raise PolicyViolation("PRC-2", "an appraisal value is a positive amount")


def check_agreement_terms(method: str, has_counterparty: bool, price: Decimal | None) -> None:
    """PRC-4: an agreement price is agreed with a named counterparty, and it is what the notice publishes."""
    if method == "agreement" and (not has_counterparty or price is None):
        raise PolicyViolation("PRC-4", "agreement pricing needs the counterparty and the proposed price to publish")
    if price is not None and price <= 0:
        raise PolicyViolation("PRC-3", "a price is a positive amount")


# --- notice, objections, listing, delisting, auction ----------------------------------------


def notice_ends_at(starts_at: datetime, notice_days: int) -> datetime:
    """PRC-4: the notice runs the unit's `notice_days` from its start."""
    return starts_at + notice_days * DAY


def check_objection_time(now: datetime, ends_at: datetime) -> None:
    """PRC-5: objections are received during the notice only (until, not at, its end)."""
    if now >= ends_at:
        raise InvalidState("the notice period has ended; objections are no longer received", rule="PRC-5")


def listing_closes_at(opens_at: datetime) -> datetime:
    """PRC-6: a listing runs half a month (15 days)."""
    return opens_at + LISTING_DAYS * DAY


def listing_price(method: str, agreement_price: Decimal | None, price: Decimal | None) -> Decimal:
    """PRC-6: after objections the listing is at the agreement price; PRC-3: a listing draft names its price."""
    if method == "agreement":
        if price is not None and price != agreement_price:
            raise PolicyViolation("PRC-6", f"after objections the listing is at the agreement price {agreement_price}")
        assert agreement_price is not None  # PRC-4 made it mandatory when the transaction was opened
        return agreement_price
    if price is None:
        raise PolicyViolation("PRC-3", "a listing names its price")
    if price <= 0:
        raise PolicyViolation("PRC-3", "a price is a positive amount")
    return price


def check_delisting_time(now: datetime, closes_at: datetime) -> None:
    """PRC-6: nobody may delist once the 15 days have passed."""
    if now >= closes_at:
        raise InvalidState("the listing has closed", rule="PRC-6")


def check_auction_terms(now: datetime, reserve_price: Decimal, closes_at: datetime) -> None:
    """PRC-8: an auction has a positive reserve price and closes in the future."""
    if reserve_price <= 0:
        raise PolicyViolation("PRC-8", "the reserve price is a positive amount")
    if closes_at <= now:
        raise PolicyViolation("PRC-8", "an auction closes in the future")


def check_bid(now: datetime, closes_at: datetime, amount: Decimal) -> None:
    """PRC-8: bids are taken until the auction closes; a bid is a positive amount."""
    if now >= closes_at:
        raise InvalidState("the auction has closed", rule="PRC-8")
    if amount <= 0:
        raise PolicyViolation("PRC-8", "a bid is a positive amount")


@dataclass(frozen=True)
class Bid:
    """A bid as the auction rule sees it; `seq` orders bids by arrival."""

    seq: int
    amount: Decimal


def winning_bid(bids: list[Bid], reserve_price: Decimal) -> Bid | None:
    """PRC-8: the highest bid at or above the reserve wins; among equal bids the earliest."""
    valid = [bid for bid in bids if bid.amount >= reserve_price]
    if not valid:
        return None
    return min(valid, key=lambda bid: (-bid.amount, bid.seq))
