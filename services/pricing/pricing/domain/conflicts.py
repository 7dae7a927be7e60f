"""What a unit still holds, and which transactions conflict (OWN-16, PRC-11; API.md §3 "Conflicts").

Pure: the service hands in ownership's rights record as it answered *before* the write transaction
opened, plus pricing's own transactions of the achievement read *under the achievement's guard*
(a row lock in pricing's database). Ownership learns of pricing's deals only through events, so a
deal pricing concluded a moment ago may be missing from the rights record: pricing's own claims are
the authority for pricing's deals, the rights record for everything decided in ownership (equity
transfers, empowerments, licences of earlier deals).

The conflict table:
- nothing can be opened or concluded for a `disposed` achievement (a concluded transfer or
  investment disposes of it too);
- a transfer or investment conflicts with another open transfer or investment;
- two licences conflict when their terms overlap and at least one is `exclusive` or `sole`,
  whether each is an open transaction or a licence in force; two `ordinary` licences never do.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from servicekit.errors import InvalidState

DISPOSING_KINDS = frozenset({"transfer", "investment"})  # OWN-16: the unit no longer holds what it transferred
EXCLUSIVE_SCOPES = frozenset({"exclusive", "sole"})  # OWN-16: 独占, 排他
LICENCE_SCOPES = ("exclusive", "sole", "ordinary")


@dataclass(frozen=True)
class Term:
    """A licence's scope and term; no start = from its opening, no end = never ends."""

    scope: str
    start_on: date
    end_on: date | None

    def overlaps(self, other: Term) -> bool:
        """Both terms share at least one day."""
        return (other.end_on is None or self.start_on <= other.end_on) and (self.end_on is None or other.start_on <= self.end_on)

    def conflicts_with(self, other: Term) -> bool:
        """OWN-16: overlapping terms where at least one licence is exclusive or sole."""
        return self.overlaps(other) and (self.scope in EXCLUSIVE_SCOPES or other.scope in EXCLUSIVE_SCOPES)


@dataclass(frozen=True)
class Claim:
    """A transaction of the achievement (open or concluded) or a licence in force in the rights record."""

    transaction_id: str | None
    kind: str  # transfer | license | investment
    concluded: bool
    term: Term | None = None  # licences only


@dataclass(frozen=True)
class Rights:
    """Ownership's rights record, reduced to what the conflict table needs."""

    status: str  # held | partly_disposed | disposed
    licences: tuple[Claim, ...] = ()


def check_no_conflict(candidate: Claim, rights: Rights, own: Iterable[Claim], *, rule: str) -> None:
    """OWN-16 (at opening) / PRC-11 (at conclusion): refuse with 409 when `candidate` conflicts with what is held."""
    claims = [claim for claim in own if claim.transaction_id != candidate.transaction_id]
    if rights.status == "disposed":
        raise InvalidState("the unit no longer holds this achievement (transferred, or its whole share passed to the team)", rule=rule)
    if any(claim.concluded and claim.kind in DISPOSING_KINDS for claim in claims):
        raise InvalidState("the achievement has been transferred or invested by a concluded deal", rule=rule)
    if candidate.kind in DISPOSING_KINDS:
        other = next((c for c in claims if not c.concluded and c.kind in DISPOSING_KINDS), None)
        if other is not None:
            raise InvalidState(f"the achievement already has an open {other.kind} transaction ({other.transaction_id})", rule=rule)
        return
    if candidate.term is None:
        return
    known = {claim.transaction_id for claim in claims if claim.transaction_id} | {candidate.transaction_id}
    licences = [c for c in claims if c.term is not None]
    licences += [c for c in rights.licences if c.term is not None and (c.transaction_id is None or c.transaction_id not in known)]
    for licence in licences:
        assert licence.term is not None
        if candidate.term.conflicts_with(licence.term):
            where = "in force" if licence.concluded else "in an open transaction"
            raise InvalidState(
                f"the licence's term overlaps an {licence.term.scope} licence {where}"
                if licence.term.scope in EXCLUSIVE_SCOPES
                else f"an {candidate.term.scope} licence cannot overlap the ordinary licence {where}",
                rule=rule,
            )
