"""EVA-1 (M 十三): quantity, quality and benefit indicators, computed from facts — pure.

Every indicator of API.md §6b is derived here from the facts of one scope (a unit, a department, a
researcher's achievements, a technology manager's deals, the province) and a year:
- events count in the Asia/Shanghai year of their time;
- `pool_size` and `receivables_outstanding` are states, taken at the year's last day (or today, for the
  current year), so they need the scope's facts of earlier years too.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.common import format_two_places
from evaluation.domain.facts import AchievementFacts, Fact
from servicekit.clock import add_years

POOL_YEARS = 3
"""OWN-10: an IP right obtained at least 3 years ago puts an untransformed achievement in the pool."""

DEAL_KINDS = ("transfer", "license", "investment")
DEAL_BASES = ("notice_clear", "listing_expired", "delisted", "auction")
EMPOWERMENT_TYPES = ("ownership", "usage_right")
CONCLUSIONS = ("meets", "basically_meets", "does_not_meet")
REWARD_FORMS = ("cash", "shares", "contribution")
TRANSFORMING_TYPES = ("pricing.deal.concluded", "finance.horizontal_investment.recorded")
"""A concluded deal, and a horizontal-fund investment naming the achievement (FIN-2: 视为转化)."""
CLOSING_RECEIVABLE_TYPES = ("finance.receivable.paid", "finance.receivable.waived", "finance.receivable.settled")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Scope:
    """The facts and achievements one set of indicators is computed over.

    `holds_pool`: whether the scope holds achievements (a unit, a department, a researcher) and so has a
    pool; a technology manager's deals name achievements without holding them.
    """

    facts: tuple[Fact, ...]
    achievements: Mapping[str, AchievementFacts]
    holds_pool: bool = True


def _achievement_of(fact: Fact, transactions: Mapping[str, str | None]) -> str | None:
    """The fact's achievement, through its transaction for a notice (whose event names none)."""
    if fact.achievement_id:
        return fact.achievement_id
    return transactions.get(fact.details.get("transaction_id") or "")


def _transactions(facts: Iterable[Fact]) -> dict[str, str | None]:
    return {f.ref_id: f.achievement_id for f in facts if f.type == "pricing.transaction.opened" and f.ref_id}


def achievement_scope(facts: Iterable[Fact], achievements: Mapping[str, AchievementFacts], holds_pool: bool = True) -> Scope:
    """The facts about some achievements (their notices found through their transactions)."""
    facts = tuple(facts)
    transactions = _transactions(facts)
    return Scope(
        facts=tuple(f for f in facts if _achievement_of(f, transactions) in achievements),
        achievements=achievements,
        holds_pool=holds_pool,
    )


def state_day(year: int, today: date) -> date:
    """The day a year's states are taken on: its last day, or today while the year is running."""
    return min(date(year, 12, 31), today)


def _pool_cutoff(day: date) -> date:
    return add_years(day, -POOL_YEARS)


def _first_transformations(facts: Iterable[Fact]) -> dict[str, date]:
    first: dict[str, date] = {}
    for fact in facts:
        if fact.type in TRANSFORMING_TYPES and fact.achievement_id:
            day = fact.day
            if fact.achievement_id not in first or day < first[fact.achievement_id]:
                first[fact.achievement_id] = day
    return first


def _excluded_on(facts: Iterable[Fact], day: date) -> set[str]:
    """Achievements whose latest pool-exclusion change on or before `day` took them out (OWN-10)."""
    latest: dict[str, tuple[Any, bool]] = {}
    for fact in facts:
        if fact.type == "ownership.pool.exclusion_changed" and fact.achievement_id and fact.day <= day:
            previous = latest.get(fact.achievement_id)
            if previous is None or fact.at >= previous[0]:
                latest[fact.achievement_id] = (fact.at, fact.kind == "excluded")
    return {achievement_id for achievement_id, (_, excluded) in latest.items() if excluded}


def _in_pool(achievement: AchievementFacts, day: date, transformed_on: date | None, excluded: set[str]) -> bool:
    """OWN-10/OWN-12 as of `day`: old enough, not transformed by then, not excluded, no national interest."""
    if achievement.first_granted_on is None or achievement.national_interest:
        return False
    if achievement.registered_on is not None and achievement.registered_on > day:
        return False
    if transformed_on is not None and transformed_on <= day:
        return False
    if achievement.achievement_id in excluded:
        return False
    return achievement.first_granted_on <= _pool_cutoff(day)


def pool_counts(scope: Scope, year: int, today: date) -> tuple[int, int]:
    """(`pool_size` on the year's state day, `pool_transformed`: pool members transformed that year)."""
    if not scope.holds_pool:
        return 0, 0
    first = _first_transformations(scope.facts)
    day = state_day(year, today)
    excluded_then = _excluded_on(scope.facts, day)
    size = sum(
        1 for achievement in scope.achievements.values()
        if _in_pool(achievement, day, first.get(achievement.achievement_id), excluded_then)
    )
    transformed = 0
    for achievement_id, transformed_on in first.items():
        achievement = scope.achievements.get(achievement_id)
        if achievement is None or transformed_on.year != year:
            continue
        # A member on the day it was transformed: in the pool just before the deal took it out.
        if _in_pool(achievement, transformed_on, None, _excluded_on(scope.facts, transformed_on)):
            transformed += 1
    return size, transformed


def _median_days(deals: list[Fact], achievements: Mapping[str, AchievementFacts]) -> float | int | None:
    days = []
    for deal in deals:
        achievement = achievements.get(deal.achievement_id or "")
        if achievement is not None and achievement.first_granted_on is not None:
            days.append((deal.day - achievement.first_granted_on).days)
    if not days:
        return None
    median = statistics.median(days)
    return int(median) if float(median).is_integer() else float(median)


def _latest_conclusions(facts: list[Fact]) -> dict[str, int]:
    """Each case once, by its latest conclusion of the year (a re-determination replaces the first)."""
    latest: dict[str, Fact] = {}
    for fact in facts:
        if fact.type in ("exemption.conclusion.issued", "exemption.determination.issued") and fact.ref_id:
            if fact.ref_id not in latest or fact.at >= latest[fact.ref_id].at:
                latest[fact.ref_id] = fact
    counts = dict.fromkeys(CONCLUSIONS, 0)
    for fact in latest.values():
        if fact.kind in counts:
            counts[fact.kind] += 1
    return counts


def _outstanding(facts: Iterable[Fact], day: date) -> Decimal:
    """Receivables opened by `day` with a known amount and not paid, waived or settled by then (FIN-9/10)."""
    opened: dict[str, Decimal] = {}
    closed: set[str] = set()
    for fact in facts:
        if fact.day > day or not fact.ref_id:
            continue
        if fact.type == "finance.receivable.opened" and fact.amount is not None:
            opened[fact.ref_id] = fact.amount
        elif fact.type in CLOSING_RECEIVABLE_TYPES:
            closed.add(fact.ref_id)
    return sum((amount for ref, amount in opened.items() if ref not in closed), ZERO)


def _money(value: Decimal) -> str:
    return format_two_places(value)


def indicators(scope: Scope, year: int, today: date) -> dict[str, dict[str, Any]]:
    """EVA-1: the three groups of API.md §6b for one scope and year."""
    of_year = [fact for fact in scope.facts if fact.year == year]

    def of_type(event_type: str) -> list[Fact]:
        return [fact for fact in of_year if fact.type == event_type]

    deals = of_type("pricing.deal.concluded")
    empowerments = of_type("ownership.empowerment.granted")
    pool_size, pool_transformed = pool_counts(scope, year, today)
    rewards_cash = ZERO
    rewards = {"shares": 0, "contribution": 0}
    for reward in of_type("finance.reward.granted"):
        for recipient in reward.details.get("recipients", []):
            form = recipient.get("form")
            if form == "cash" and recipient.get("amount") is not None:
                rewards_cash += Decimal(str(recipient["amount"]))
            elif form in rewards:
                rewards[form] += 1
    state_equity = sum((deal.amount or ZERO for deal in deals if deal.kind == "investment"), ZERO) + sum(
        (fact.amount or ZERO for fact in of_type("finance.horizontal_investment.recorded")), ZERO
    )
    return {
        "quantity": {
            "achievements_registered": len(of_type("ownership.achievement.registered")),
            "empowerments": {kind: sum(1 for e in empowerments if e.kind == kind) for kind in EMPOWERMENT_TYPES},
            "transactions_opened": len(of_type("pricing.transaction.opened")),
            "deals": {kind: sum(1 for d in deals if d.kind == kind) for kind in DEAL_KINDS},
            "deals_by_basis": {basis: sum(1 for d in deals if d.basis == basis) for basis in DEAL_BASES},
            "pay_later_licences": sum(1 for d in deals if d.details.get("pay_later")),
            "pool_size": pool_size,
            "pool_transformed": pool_transformed,
        },
        "quality": {
            "median_days_grant_to_deal": _median_days(deals, scope.achievements),
            "notices_published": len(of_type("pricing.notice.published")),
            "notices_objected": len({f.ref_id for f in of_type("pricing.notice.objected") if f.ref_id}),
            "listings_delisted": sum(1 for d in deals if d.basis == "delisted"),
            "exemption_conclusions": _latest_conclusions(of_year),
        },
        "benefit": {
            "deal_amount": _money(sum((d.amount or ZERO for d in deals), ZERO)),
            "income_received": _money(sum((f.amount or ZERO for f in of_type("finance.income.recorded")), ZERO)),
            "rewards_paid": {"cash": _money(rewards_cash), **rewards},
            "state_equity_formed": _money(state_equity),
            "receivables_outstanding": _money(_outstanding(scope.facts, state_day(year, today))),
        },
    }


def unit_scope(unit_id: str, facts: Iterable[Fact], achievements: Mapping[str, AchievementFacts]) -> Scope:
    """A unit's facts and achievements."""
    return Scope(
        facts=tuple(f for f in facts if f.unit_id == unit_id),
        achievements={k: a for k, a in achievements.items() if a.unit_id == unit_id},
    )


def department_scopes(scope: Scope) -> dict[str, Scope]:
    """EVA-1: one scope per internal department named on the unit's achievements (院系/内设机构)."""
    departments = sorted({a.department for a in scope.achievements.values() if a.department})
    return {
        department: achievement_scope(
            scope.facts, {k: a for k, a in scope.achievements.items() if a.department == department}
        )
        for department in departments
    }


def researcher_scope(person_id: str, facts: Iterable[Fact], achievements: Mapping[str, AchievementFacts]) -> Scope:
    """EVA-1 / M 十三: a researcher's results are those of the achievements they completed."""
    return achievement_scope(facts, {k: a for k, a in achievements.items() if person_id in a.completer_ids})


def technology_manager_scope(
    manager_id: str, facts: Iterable[Fact], achievements: Mapping[str, AchievementFacts]
) -> Scope:
    """ORG-2 / PRC-12: a technology manager's results are the transactions and deals that name them."""
    named = tuple(f for f in facts if manager_id in f.person_ids)
    brokered = {f.achievement_id for f in named if f.achievement_id}
    return Scope(
        facts=named,
        achievements={k: a for k, a in achievements.items() if k in brokered},
        holds_pool=False,
    )
