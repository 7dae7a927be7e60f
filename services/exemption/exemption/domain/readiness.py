"""EXE-13 exemption readiness (免责预检): what a transaction's procedural record supports of G5.3 and G5.4.

One function per clause decides, from the record (PRC-9) alone, whether the clause is `supported`,
`not_yet` (with what is missing) or `not_applicable`. The case assessment (EXE-11) asks the same
functions, so the readiness a unit saw before signing and the assessment of a case citing that
transaction never disagree.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel

Readiness = Literal["supported", "not_yet", "not_applicable"]
G53_BASES = ("notice_clear", "listing_expired", "delisted", "auction")  # G5.3: open price-fixing procedures


class RecordStep(BaseModel):
    """One step of a transaction's procedural record, as pricing announced it (PRC-9)."""

    seq: int
    at: datetime
    step: str
    actor: str = ""
    details: dict[str, Any] = {}


class ClauseReadiness(BaseModel):
    clause: Literal["G5.3", "G5.4"]
    status: Readiness
    missing: list[str]
    reasons: list[str]


class TransactionReadiness(BaseModel):
    transaction_id: str
    clauses: list[ClauseReadiness]


class _Record:
    """The record read once: the first step of each kind that matters, in order."""

    def __init__(self, steps: list[RecordStep]) -> None:
        self.steps = sorted(steps, key=lambda s: s.seq)
        self.opened = self.first("opened")
        self.concluded = self.first("concluded")

    def first(self, step: str, before: RecordStep | None = None) -> RecordStep | None:
        return next((s for s in self.steps if s.step == step and (before is None or s.seq < before.seq)), None)

    def has(self, step: str) -> bool:
        return self.first(step) is not None

    @property
    def method(self) -> str | None:
        return self.opened.details.get("method") if self.opened else None

    @property
    def kind(self) -> str | None:
        return self.opened.details.get("kind") if self.opened else None

    @property
    def failed(self) -> bool:
        closed = self.first("auction_closed")
        return closed is not None and not closed.details.get("winning_bid_id") and self.concluded is None


def _price(details: dict[str, Any], key: str = "price") -> Decimal | None:
    try:
        return Decimal(str(details[key])) if details.get(key) is not None else None
    except (InvalidOperation, ValueError):
        return None


def _concluded_basis(record: _Record) -> tuple[bool, list[str]]:
    """EXE-11: was the concluded price fixed by a procedure G5.3 names? (and why)."""
    concluded = record.concluded
    assert concluded is not None
    closings = [s for s in record.steps if s.step == "notice_closed" and s.seq < concluded.seq]
    basis = concluded.details.get("basis")
    if basis not in G53_BASES:
        return False, [f"the deal was concluded on basis {basis!r}, which is not a price fixed by listing, auction "
                       "or a notice without objection"]
    if basis == "delisted":
        return True, ["the price was fixed by listing on a technology market and delisting (PRC-6/7)"]
    if basis == "auction":
        return True, ["the price was fixed by auction (PRC-8)"]
    if basis == "notice_clear":
        if any(s.details.get("objected") is False for s in closings):
            return True, ["the agreement price was publicly noticed and the notice closed without objection (PRC-4/5)"]
        return False, ["the record shows no notice that closed without objection before the conclusion (PRC-4)"]
    listing = record.first("listing_published", before=concluded)
    expired = record.first("listing_expired", before=concluded)
    if not any(s.details.get("objected") is True for s in closings) or listing is None or expired is None:
        return False, ["the record shows no objected notice followed by a listing that expired before the conclusion"]
    notice = record.first("notice_published")
    expected = (_price(notice.details) if notice else None) or _price(listing.details)
    concluded_price = _price(concluded.details)
    if expected is not None and concluded_price is not None and concluded_price != expected:
        return False, [f"after the expired listing the deal had to be concluded at the agreement price {expected}, "
                       f"not {concluded_price} (PRC-6)"]
    return True, ["the notice drew objections, the achievement was listed on a technology market at the agreement "
                  "price, nobody delisted within the period and the deal was concluded at that price (PRC-6)"]


def _price_fixing_missing(record: _Record, now: datetime) -> list[str]:
    """What the procedure still lacks before a deal G5.3 names can conclude."""
    method = record.method
    if method == "auction":
        opened = record.first("auction_opened")
        if opened is None:
            return ["an auction (PRC-8)"]
        return [f"the auction runs until {opened.details.get('closes_at')}; its highest valid bid concludes the deal (PRC-8)"]
    notice = record.first("notice_published")
    closing = record.first("notice_closed")
    if method == "agreement":
        if notice is None:
            return ["a public notice of the agreement price (PRC-4)"]
        if closing is None:
            ends_at = notice.details.get("ends_at")
            if ends_at and datetime.fromisoformat(ends_at) <= now:
                return [f"the public notice ended at {ends_at}; whether it drew objections is not recorded yet (PRC-5)"]
            return [f"the public notice is still running (until {ends_at}) (PRC-4/5)"]
        if closing.details.get("objected") is False:
            return ["the conclusion of the deal at the agreement price (PRC-5)"]
    listing = record.first("listing_published")
    if listing is None:
        if method == "agreement":
            return ["objection received: a listing on a technology market is required (PRC-6)"]
        return ["a listing on a technology market (PRC-3, PRC-6)"]
    if not record.has("listing_expired") and not record.has("delisted"):
        return [f"the listing is still running (until {listing.details.get('closes_at')}) (PRC-6/7)"]
    return ["the conclusion of the deal (PRC-6/7)"]


def price_fixing_readiness(steps: list[RecordStep], now: datetime) -> ClauseReadiness:
    """G5.3 (EXE-11, EXE-13): supported once the deal concluded on a basis G5.3 names; what is missing before."""
    record = _Record(steps)
    if record.concluded is not None:
        supported, reasons = _concluded_basis(record)
        return ClauseReadiness(clause="G5.3", status="supported" if supported else "not_applicable", missing=[],
                               reasons=reasons)
    if record.has("withdrawn"):
        return ClauseReadiness(clause="G5.3", status="not_applicable", missing=[], reasons=["the transaction was withdrawn"])
    if record.failed:
        return ClauseReadiness(clause="G5.3", status="not_applicable", missing=[],
                               reasons=["the auction closed without a valid bid: no deal (PRC-8)"])
    missing = _price_fixing_missing(record, now)
    return ClauseReadiness(clause="G5.3", status="not_yet", missing=missing,
                           reasons=["no deal has been concluded yet, so no price has been fixed"])


def _wholly_state_owned(party: Any) -> bool:
    return isinstance(party, dict) and party.get("ownership") == "wholly_state_owned" and party.get("kind", "enterprise") == "enterprise"


def transfer_readiness(steps: list[RecordStep], *, empowered: bool) -> ClauseReadiness:
    """G5.4 (EXE-13): a concluded transfer of an empowered achievement to a wholly state-owned enterprise."""
    record = _Record(steps)
    if record.kind != "transfer":
        return ClauseReadiness(clause="G5.4", status="not_applicable", missing=[],
                               reasons=[f"G5.4 concerns a transfer, not a {record.kind or 'transaction of unknown kind'}"])
    if not empowered:
        return ClauseReadiness(clause="G5.4", status="not_applicable", missing=[],
                               reasons=["no empowerment (ownership or long-term usage right) of the achievement is recorded"])
    if record.concluded is not None:
        if _wholly_state_owned(record.concluded.details.get("counterparty")):
            return ClauseReadiness(clause="G5.4", status="supported", missing=[], reasons=[
                "the empowered achievement was transferred by the recorded procedure to a wholly state-owned enterprise"])
        return ClauseReadiness(clause="G5.4", status="not_applicable", missing=[],
                               reasons=["the transferee is not a wholly state-owned enterprise"])
    if record.has("withdrawn") or record.failed:
        return ClauseReadiness(clause="G5.4", status="not_applicable", missing=[], reasons=["the transfer did not take place"])
    counterparty = record.opened.details.get("counterparty") if record.opened else None
    if counterparty and not _wholly_state_owned(counterparty):
        return ClauseReadiness(clause="G5.4", status="not_applicable", missing=[],
                               reasons=["the intended transferee is not a wholly state-owned enterprise"])
    missing = ["the conclusion of the transfer" + ("" if counterparty else " to a wholly state-owned enterprise")]
    return ClauseReadiness(clause="G5.4", status="not_yet", missing=missing,
                           reasons=["the transfer of the empowered achievement is still open"])


def readiness(transaction_id: str, steps: list[RecordStep], *, empowered: bool, now: datetime) -> TransactionReadiness:
    """EXE-13: G5.3 and G5.4 for one transaction, from its procedural record."""
    return TransactionReadiness(
        transaction_id=transaction_id,
        clauses=[price_fixing_readiness(steps, now), transfer_readiness(steps, empowered=empowered)],
    )


def is_settled(steps: list[RecordStep]) -> bool:
    """The record can no longer change what readiness says: concluded, withdrawn or a failed auction."""
    record = _Record(steps)
    return record.concluded is not None or record.has("withdrawn") or record.failed
