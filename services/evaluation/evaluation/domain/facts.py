"""EVA-2: what each published event contributes to the read model — pure, so a replay gives the same model.

An event becomes at most one `Fact` (a countable thing that happened to a unit at an instant) and may
also change what the model knows of a unit, an achievement or a technology manager. Nothing here reads
a clock or a database: the same stream always yields the same facts.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from servicekit.clock import SHANGHAI

COUNTED_TYPES = frozenset({
    "ownership.achievement.registered",
    "ownership.empowerment.granted",
    "ownership.pool.exclusion_changed",
    "pricing.transaction.opened",
    "pricing.notice.published",
    "pricing.notice.objected",
    "pricing.deal.concluded",
    "exemption.conclusion.issued",
    "exemption.determination.issued",
    "finance.income.recorded",
    "finance.reward.granted",
    "finance.horizontal_investment.recorded",
    "finance.receivable.opened",
    "finance.receivable.paid",
    "finance.receivable.waived",
    "finance.receivable.settled",
})
"""The event types that count in EVA-1's indicators."""

KNOWLEDGE_TYPES = frozenset({
    "ownership.unit.registered",
    "ownership.achievement.registered",
    "ownership.achievement.corrected",
    "ownership.technology_manager.registered",
})
"""The event types that tell the model who and what exists (names, departments, completers, grants)."""


@dataclass(frozen=True)
class Fact:
    """One countable occurrence: what happened, to which unit and achievement, when, for how much."""

    event_id: str
    type: str
    unit_id: str
    at: datetime
    achievement_id: str | None = None
    kind: str | None = None
    basis: str | None = None
    amount: Decimal | None = None
    ref_id: str | None = None
    person_ids: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def year(self) -> int:
        """EVA-1: an event counts in the Asia/Shanghai year of its `time`."""
        return self.at.astimezone(SHANGHAI).year

    @property
    def day(self) -> date:
        """The Asia/Shanghai calendar day of the event."""
        return self.at.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class AchievementFacts:
    """What the model knows of an achievement, as of the latest registration or correction."""

    achievement_id: str
    unit_id: str
    title: str = ""
    department: str | None = None
    field: str | None = None
    first_granted_on: date | None = None
    completer_ids: tuple[str, ...] = ()
    national_interest: bool = False
    registered_on: date | None = None
    """The Asia/Shanghai day it was registered: before it, the platform did not hold it (nor its pool)."""


@dataclass(frozen=True)
class Knowledge:
    """A change to what the model knows: a unit's name, an achievement, a technology manager."""

    unit: tuple[str, str] | None = None
    """(unit_id, name)."""
    achievement: AchievementFacts | None = None
    correction: dict[str, Any] | None = None
    """For `ownership.achievement.corrected`: the corrected fields of `achievement_id` (below), as JSON values."""
    achievement_id: str | None = None
    technology_manager: tuple[str, str, str | None] | None = None
    """(technology_manager_id, person_id, unit_id)."""


def corrected(achievement: AchievementFacts, corrections: list[dict[str, Any]]) -> AchievementFacts:
    """OWN-17: the achievement as its corrections (oldest first) left it."""
    values = {}
    for correction in corrections:
        values.update(correction)
    if "first_granted_on" in values and isinstance(values["first_granted_on"], str):
        values["first_granted_on"] = date.fromisoformat(values["first_granted_on"])
    if "completer_ids" in values:
        values["completer_ids"] = tuple(values["completer_ids"])
    return replace(achievement, **values)


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _first_grant(ip_rights: list[dict[str, Any]] | None) -> date | None:
    days = [date.fromisoformat(str(right["granted_on"])) for right in ip_rights or [] if right.get("granted_on")]
    return min(days) if days else None


def _person_ids(people: list[dict[str, Any]] | None) -> tuple[str, ...]:
    return tuple(str(person["person_id"]) for person in people or [] if person.get("person_id"))


def knowledge_of(event_type: str, data: dict[str, Any], at: datetime) -> Knowledge | None:
    """What an event tells the model about who and what exists, or None."""
    if event_type == "ownership.unit.registered":
        return Knowledge(unit=(data["unit_id"], data.get("name") or ""))
    if event_type == "ownership.achievement.registered":
        security = data.get("security") or {}
        return Knowledge(achievement=AchievementFacts(
            achievement_id=data["achievement_id"],
            unit_id=data["unit_id"],
            title=data.get("title") or "",
            department=data.get("department"),
            field=data.get("field"),
            first_granted_on=_first_grant(data.get("ip_rights")),
            completer_ids=_person_ids(data.get("completers")),
            national_interest=bool(security.get("national_interest")),
            registered_on=at.astimezone(SHANGHAI).date(),
        ))
    if event_type == "ownership.achievement.corrected":
        correction: dict[str, Any] = {}
        changed = set(data.get("changed") or [])
        if "department" in changed:
            correction["department"] = data.get("department")
        if "field" in changed:
            correction["field"] = data.get("field")
        if "ip_rights" in changed and data.get("ip_rights") is not None:
            granted = _first_grant(data["ip_rights"])
            correction["first_granted_on"] = granted.isoformat() if granted else None
        if "completers" in changed and data.get("completers") is not None:
            correction["completer_ids"] = list(_person_ids(data["completers"]))
        if "security" in changed and data.get("security") is not None:
            correction["national_interest"] = bool(data["security"].get("national_interest"))
        return Knowledge(achievement_id=data["achievement_id"], correction=correction)
    if event_type == "ownership.technology_manager.registered":
        return Knowledge(technology_manager=(data["technology_manager_id"], data["person_id"], data.get("unit_id")))
    return None


def fact_of(event_type: str, event_id: str, at: datetime, data: dict[str, Any]) -> Fact | None:
    """The countable fact an event is, or None for an event EVA-1 does not count."""
    if event_type not in COUNTED_TYPES or not data.get("unit_id"):
        return None
    base: dict[str, Any] = {"event_id": event_id, "type": event_type, "unit_id": data["unit_id"], "at": at,
                            "achievement_id": data.get("achievement_id")}
    if event_type == "ownership.achievement.registered":
        return Fact(**base)
    if event_type == "ownership.empowerment.granted":
        return Fact(**base, kind=data.get("type"))
    if event_type == "ownership.pool.exclusion_changed":
        return Fact(**base, kind="excluded" if data.get("excluded") else "included")
    if event_type == "pricing.transaction.opened":
        return Fact(**base, kind=data.get("kind"), ref_id=data.get("transaction_id"),
                    person_ids=tuple(data.get("technology_manager_ids") or ()))
    if event_type in ("pricing.notice.published", "pricing.notice.objected"):
        return Fact(**base, ref_id=data.get("notice_id"), details={"transaction_id": data.get("transaction_id")})
    if event_type == "pricing.deal.concluded":
        payment = data.get("payment") or {}
        return Fact(**base, kind=data.get("kind"), basis=data.get("basis"), amount=_money(data.get("price")),
                    ref_id=data.get("transaction_id"), person_ids=tuple(data.get("technology_manager_ids") or ()),
                    details={"pay_later": payment.get("mode") == "pay_later"})
    if event_type in ("exemption.conclusion.issued", "exemption.determination.issued"):
        # EVA-2 / G art. 8: a count by conclusion only; the case's subjects never enter the model.
        return Fact(**base, kind=data.get("conclusion"), ref_id=data.get("case_id"))
    if event_type == "finance.income.recorded":
        return Fact(**base, kind=data.get("source"), amount=_money(data.get("amount")), ref_id=data.get("income_id"))
    if event_type == "finance.reward.granted":
        recipients = [
            {"form": r.get("form"), "amount": r.get("amount"), "person_id": r.get("person_id")}
            for r in data.get("recipients") or []
        ]
        return Fact(**base, ref_id=data.get("reward_id"), details={"recipients": recipients})
    if event_type == "finance.horizontal_investment.recorded":
        return Fact(**base, amount=_money(data.get("state_equity_value")), ref_id=data.get("investment_id"))
    if event_type == "finance.receivable.opened":
        return Fact(**base, kind=data.get("kind"), amount=_money(data.get("amount")), ref_id=data.get("receivable_id"))
    # paid, waived, settled: the receivable is no longer outstanding.
    return Fact(**base, ref_id=data.get("receivable_id"))
