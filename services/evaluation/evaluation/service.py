"""Evaluation use cases: record what each event contributes, and read the indicators (EVA-1, EVA-2)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evaluation import repository
from evaluation.domain.facts import fact_of, knowledge_of
from evaluation.domain.indicators import (
    Scope,
    department_scopes,
    indicators,
    researcher_scope,
    technology_manager_scope,
    unit_scope,
)
from evaluation.schemas import (
    DepartmentIndicators,
    DepartmentPage,
    Indicators,
    ProvinceRow,
    ProvinceTable,
    ResearcherIndicators,
    TechnologyManagerIndicators,
    UnitIndicators,
)
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import SHANGHAI
from servicekit.errors import InvalidInput, NotFound
from servicekit.pagination import decode_cursor, encode_cursor

GLOBAL_READERS = ("department", "platform_admin")
"""EVA-2: the province's departments and the platform read every unit and the province."""
MIN_YEAR, MAX_YEAR = 1949, 2200


async def apply_event(session: AsyncSession, *, event_type: str, event_id: str, at: datetime, data: dict[str, Any]) -> None:
    """EVA-2: record what a published event contributes, in every generation being read or rebuilt."""
    generations = await repository.list_writable_generations(session)
    await apply_to_generations(session, generations, event_type=event_type, event_id=event_id, at=at, data=data)


async def apply_to_generations(
    session: AsyncSession, generations: list[int], *, event_type: str, event_id: str, at: datetime, data: dict[str, Any]
) -> None:
    """Apply one event to the given generations; idempotent, so a replay may meet what the live consumer wrote."""
    knowledge = knowledge_of(event_type, data, at)
    fact = fact_of(event_type, event_id, at, data)
    for generation in generations:
        if knowledge is not None:
            if knowledge.unit is not None:
                await repository.insert_unit(session, generation, *knowledge.unit)
            if knowledge.achievement is not None:
                await repository.insert_achievement(session, generation, knowledge.achievement)
            if knowledge.correction is not None and knowledge.achievement_id is not None:
                await repository.insert_correction(
                    session, generation, event_id, knowledge.achievement_id, at, knowledge.correction
                )
            if knowledge.technology_manager is not None:
                await repository.insert_technology_manager(session, generation, *knowledge.technology_manager)
        if fact is not None:
            await repository.insert_fact(session, generation, fact)


def _year(year: int | None, now: datetime) -> int:
    if year is None:
        return now.astimezone(SHANGHAI).year
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput("year must lie between {low} and {high}", low=MIN_YEAR, high=MAX_YEAR)
    return year


def _groups(scope: Scope, year: int, now: datetime) -> dict[str, Any]:
    return indicators(scope, year, now.astimezone(SHANGHAI).date())


async def _unit_scope(session: AsyncSession, generation: int, unit_id: str) -> Scope:
    facts = await repository.list_facts(session, generation, [unit_id])
    achievements = await repository.list_achievements(session, generation, [unit_id])
    return unit_scope(unit_id, facts, achievements)


async def _known_unit(session: AsyncSession, generation: int, actor: Principal, unit_id: str) -> str:
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=GLOBAL_READERS)
    name = await repository.get_unit_name(session, generation, unit_id)
    if name is None:
        raise NotFound("no such unit")
    return name


async def get_unit_indicators(
    session: AsyncSession, *, actor: Principal, unit_id: str, year: int | None, now: datetime
) -> UnitIndicators:
    """EVA-1: a unit's indicators for a year (its unit_admin, department, platform_admin)."""
    year = _year(year, now)
    generation = await repository.get_active_generation(session)
    await _known_unit(session, generation, actor, unit_id)
    scope = await _unit_scope(session, generation, unit_id)
    return UnitIndicators(unit_id=unit_id, year=year, **_groups(scope, year, now))


async def get_unit_history(
    session: AsyncSession, *, actor: Principal, unit_id: str, years: range, now: datetime
) -> tuple[str, dict[int, dict[str, Any]]]:
    """A unit's name and its indicators for each of `years` (for the chart over the years)."""
    generation = await repository.get_active_generation(session)
    name = await _known_unit(session, generation, actor, unit_id)
    scope = await _unit_scope(session, generation, unit_id)
    return name, {year: _groups(scope, year, now) for year in years}


async def list_department_indicators(
    session: AsyncSession, *, actor: Principal, unit_id: str, year: int | None, now: datetime, limit: int, cursor: str | None
) -> DepartmentPage:
    """EVA-1: one row per internal department named on the unit's achievements."""
    year = _year(year, now)
    generation = await repository.get_active_generation(session)
    await _known_unit(session, generation, actor, unit_id)
    scopes = department_scopes(await _unit_scope(session, generation, unit_id))
    after = decode_cursor(cursor)
    names = [name for name in scopes if after is None or name > str(after[0])]
    shown = names[:limit]
    return DepartmentPage(
        items=[DepartmentIndicators(department=name, **_groups(scopes[name], year, now)) for name in shown],
        next_cursor=encode_cursor([shown[-1]]) if len(names) > limit and shown else None,
    )


async def get_researcher_indicators(
    session: AsyncSession, *, actor: Principal, person_id: str, year: int | None, now: datetime
) -> ResearcherIndicators:
    """EVA-1 / M 十三: a researcher's results, for the researcher, their unit's admin and the province."""
    year = _year(year, now)
    generation = await repository.get_active_generation(session)
    achievements = await repository.list_achievements(session, generation)
    mine = {k: a for k, a in achievements.items() if person_id in a.completer_ids}
    units = {a.unit_id for a in mine.values()}
    _ensure_person_access(actor, person_id, units)
    facts = await repository.list_facts(session, generation, sorted(units))
    scope = researcher_scope(person_id, facts, mine)
    return ResearcherIndicators(person_id=person_id, year=year, **_groups(scope, year, now))


async def get_technology_manager_indicators(
    session: AsyncSession, *, actor: Principal, manager_id: str, year: int | None, now: datetime
) -> TechnologyManagerIndicators:
    """ORG-2 / M 十一, 十三: the deals a technology manager brokered count for them."""
    year = _year(year, now)
    generation = await repository.get_active_generation(session)
    manager = await repository.get_technology_manager(session, generation, manager_id)
    if manager is None:
        raise NotFound("no such technology manager")
    units = {manager.unit_id} if manager.unit_id else set()
    _ensure_person_access(actor, manager.person_id, units)
    scope = technology_manager_scope(
        manager_id, await repository.list_facts(session, generation), await repository.list_achievements(session, generation)
    )
    return TechnologyManagerIndicators(technology_manager_id=manager_id, year=year, **_groups(scope, year, now))


def _ensure_person_access(actor: Principal, person_id: str, units: set[str]) -> None:
    """The person by token `sub`, the unit_admin of one of their units, department and platform_admin."""
    if actor.has(*GLOBAL_READERS) or actor.sub == person_id:
        return
    if actor.has("unit_admin") and actor.unit_id in units:
        return
    if actor.has("unit_admin", "researcher") and actor.unit_id not in units:
        raise NotFound("no such person in your unit")  # another unit's person: existence is not disclosed
    require_role(actor, *GLOBAL_READERS)


async def get_province_table(
    session: AsyncSession, *, actor: Principal, year: int | None, now: datetime, limit: int, cursor: str | None
) -> ProvinceTable:
    """EVA-1: the province's table, one row per unit, with the totals over every unit."""
    require_role(actor, *GLOBAL_READERS)
    year = _year(year, now)
    generation = await repository.get_active_generation(session)
    after = decode_cursor(cursor)
    units = await repository.list_units(session, generation, str(after[0]) if after else None, limit)
    shown = units[:limit]
    facts = await repository.list_facts(session, generation)
    achievements = await repository.list_achievements(session, generation)
    rows = [
        ProvinceRow(unit_id=unit.unit_id, unit_name=unit.name,
                    **_groups(unit_scope(unit.unit_id, facts, achievements), year, now))
        for unit in shown
    ]
    totals = Indicators(**_groups(Scope(facts=tuple(facts), achievements=achievements), year, now))
    return ProvinceTable(
        year=year,
        items=rows,
        totals=totals,
        next_cursor=encode_cursor([shown[-1].unit_id]) if len(units) > limit and shown else None,
    )
