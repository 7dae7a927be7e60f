"""Time-driven closing of a transaction: a notice's end (PRC-4/5), a listing's expiry (PRC-6), an auction's close (PRC-8).

`close_due` is pure: it takes what is due and returns what happens — the transaction's new state,
the record steps to append and the events to announce. The service only saves and emits it. An
auction's close concludes a deal, so it is checked against what the unit still holds (PRC-11); a
refused conclusion closes the auction without a deal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from contracts.common import format_two_places
from pricing.domain.conflicts import Claim, Rights, check_no_conflict
from pricing.domain.transactions import Action, Bid, State, due_action, next_state, winning_bid
from servicekit.errors import InvalidState


@dataclass(frozen=True)
class AuctionBidFacts:
    """A bid as the closing needs it."""

    id: str
    seq: int
    amount: Decimal
    party: dict[str, Any]


@dataclass(frozen=True)
class Due:
    """The transaction and the one running phase whose end may be due."""

    method: str
    state: str
    due_at: datetime | None
    phase_id: str | None = None  # the notice, listing or auction
    phase_ends_at: datetime | None = None
    objection_count: int = 0
    reserve_price: Decimal | None = None
    bids: tuple[AuctionBidFacts, ...] = ()
    candidate: Claim | None = None  # the deal an auction's close would conclude (PRC-11)
    # Ownership's record, looked up before the write. None: not looked up, so a won auction is left for the
    # sweeper (which looks it up first); a read's preview passes an assumed record to show the likely outcome.
    rights: Rights | None = None
    own_claims: tuple[Claim, ...] = ()


@dataclass(frozen=True)
class Step:
    """One step to append to the procedural record (PRC-9)."""

    step: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Closing:
    """What the passing of time did: the new state, the phase's new state, record steps, events, the deal."""

    action: Action
    state: State
    phase_state: str
    steps: tuple[Step, ...]
    events: tuple[str, ...]
    winner: AuctionBidFacts | None = None
    refused_rule: str | None = None


def close_due(due: Due, now: datetime) -> Closing | None:
    """The time-driven transition due at `now`, or None when nothing is due."""
    winner = None
    refused: InvalidState | None = None
    if State(due.state) is State.AUCTION_OPEN and due.reserve_price is not None:
        best = winning_bid([Bid(seq=b.seq, amount=b.amount) for b in due.bids], due.reserve_price)
        winner = next((b for b in due.bids if best and b.seq == best.seq), None)
        if winner is not None and due_action(due.state, due.due_at, now, has_winning_bid=True) is not None:
            if due.rights is None:
                return None
            refused = _refusal(due)
            if refused is not None:
                winner = None
    action = due_action(due.state, due.due_at, now, objected=due.objection_count > 0, has_winning_bid=winner is not None)
    if action is None:
        return None
    state = next_state(due.method, due.state, action)
    ended = due.phase_ends_at.isoformat() if due.phase_ends_at else None
    if action in (Action.CLOSE_NOTICE_CLEAR, Action.CLOSE_NOTICE_OBJECTED):  # PRC-4/PRC-5
        objected = action is Action.CLOSE_NOTICE_OBJECTED
        closed = {"notice_id": due.phase_id, "ended_at": ended, "objected": objected, "objection_count": due.objection_count}
        return Closing(action, state, "objected" if objected else "clear", (Step("notice_closed", closed),),
                       ("pricing.notice.closed",))
    if action is Action.EXPIRE_LISTING:  # PRC-6: 15 days without a delisting
        return Closing(action, state, "expired", (Step("listing_expired", {"listing_id": due.phase_id, "closed_at": ended}),),
                       ("pricing.listing.expired",))
    details: dict[str, Any] = {  # PRC-8: the highest valid bid wins, or no deal
        "auction_id": due.phase_id,
        "closed_at": ended,
        "bid_count": len(due.bids),
        "winning_bid_id": winner.id if winner else None,
        "amount": format_two_places(winner.amount) if winner else None,
    }
    if refused is not None:
        details["refused"] = {"rule": refused.rule, "detail": refused.detail}
    return Closing(action, state, "won" if winner else "failed", (Step("auction_closed", details),),
                   ("pricing.deal.concluded",) if winner else (), winner=winner,
                   refused_rule=refused.rule if refused else None)


def _refusal(due: Due) -> InvalidState | None:
    """PRC-11: the auction's deal against what the unit still holds; a refusal, or None when it may conclude."""
    if due.candidate is None or due.rights is None:
        return None
    try:
        check_no_conflict(due.candidate, due.rights, due.own_claims, rule="PRC-11")
    except InvalidState as refusal:
        return refusal
    return None
