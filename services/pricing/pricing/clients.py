"""Lookups at ownership, always made before pricing's write transaction opens (never inside one).

Ownership's answers are facts as of the lookup: the achievement and its compliance records
(OWN-13/14/15), its rights record (OWN-16, PRC-11) and the technology-manager registry (ORG-2, PRC-12).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from pricing.domain.conflicts import Claim, Rights, Term
from pricing.domain.gates import AchievementFacts, PartyFacts, check_transaction_gates
from servicekit.errors import NotFound, PolicyViolation

if TYPE_CHECKING:
    from servicekit.app import Runtime


@dataclass(frozen=True)
class Holding:
    """An achievement as ownership holds it now, with its rights record."""

    achievement: dict[str, Any]
    rights: Rights

    @property
    def unit_id(self) -> str | None:
        """The unit that holds the achievement."""
        return self.achievement.get("unit_id")

    def gates(self) -> AchievementFacts:
        """What the transaction gates (OWN-13/14/15) need."""
        security = self.achievement.get("security") or {}
        records = self.achievement.get("compliance_records") or []
        return AchievementFacts(
            classified=bool(security.get("classified")),
            key_core_technology=bool(security.get("key_core_technology")),
            ethics_review_required=bool(self.achievement.get("ethics_review_required")),
            compliance_kinds=frozenset(str(r.get("kind")) for r in records if isinstance(r, dict)),
        )

    @property
    def national_interest(self) -> bool:
        """OWN-12: flagged as possibly affecting national security or interest."""
        return bool((self.achievement.get("security") or {}).get("national_interest"))

    def check_party(self, kind: str, overseas: bool) -> None:
        """OWN-13/14/15 for whoever a deal could go to."""
        check_transaction_gates(self.gates(), PartyFacts(kind=kind, overseas=overseas))


async def holding(runtime: "Runtime", achievement_id: str) -> Holding:
    """The achievement and its rights record (two lookups at once); 404 when ownership does not know it."""
    achievement, record = await asyncio.gather(
        runtime.lookup("ownership", f"/api/v1/achievements/{achievement_id}"),
        runtime.lookup("ownership", f"/api/v1/achievements/{achievement_id}/rights"),
    )
    if achievement is None:
        raise NotFound("no such achievement")
    return Holding(achievement=achievement, rights=rights_of(record))


async def rights(runtime: "Runtime", achievement_id: str) -> Rights:
    """The achievement's rights record alone (an auction's close needs no more)."""
    return rights_of(await runtime.lookup("ownership", f"/api/v1/achievements/{achievement_id}/rights"))


def rights_of(record: dict[str, Any] | None) -> Rights:
    """OWN-16: the rights record as the conflict table reads it (licences in force with scope and term).

    An ownership that keeps no rights record yet (pricing deployed before it in a rolling upgrade) answers
    404 for an achievement it knows: the unit then counts as holding it, and pricing's own deals still decide.
    """
    if record is None:
        return Rights(status="held")
    licences = []
    for licence in record.get("licences") or []:
        # A licence in force without a start day has run since its deal: compare it as from the beginning.
        start = _date(licence.get("start_on")) or date.min
        licences.append(Claim(
            transaction_id=licence.get("transaction_id"),
            kind="license",
            concluded=True,
            term=Term(scope=str(licence.get("scope") or "ordinary"), start_on=start, end_on=_date(licence.get("end_on"))),
        ))
    return Rights(status=str(record.get("status") or "held"), licences=tuple(licences))


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


async def check_technology_managers(runtime: "Runtime", ids: list[str]) -> None:
    """PRC-12: every named technology manager is registered with ownership (ORG-2)."""
    if not ids:
        return
    found = await asyncio.gather(*(runtime.lookup("ownership", f"/api/v1/technology-managers/{i}") for i in ids))
    unknown = [manager_id for manager_id, manager in zip(ids, found, strict=True) if manager is None]
    if unknown:
        raise PolicyViolation("PRC-12", f"no registered technology manager: {', '.join(unknown)}")

