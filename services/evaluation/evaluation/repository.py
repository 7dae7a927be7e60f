"""Evaluation queries and idempotent writes (INSERT … ON CONFLICT DO NOTHING on every table)."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation.domain.facts import AchievementFacts, Fact, corrected
from evaluation.models import (
    AchievementRow,
    CorrectionRow,
    FactRow,
    Generation,
    Rebuild,
    TechnologyManagerRow,
    UnitRow,
)

MODEL_TABLES = (FactRow, AchievementRow, CorrectionRow, UnitRow, TechnologyManagerRow)


def _insert_ignoring_duplicates(session: AsyncSession, model: type) -> Insert:
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    return insert(model).on_conflict_do_nothing()


async def get_active_generation(session: AsyncSession) -> int:
    """The generation reads use (one is created by the first migration)."""
    return (await session.execute(select(Generation.id).where(Generation.state == "active"))).scalar_one()


async def list_writable_generations(session: AsyncSession) -> list[int]:
    """The active generation and any being rebuilt: the live consumer writes every event to each."""
    rows = await session.execute(select(Generation.id).where(Generation.state.in_(("active", "building"))))
    return [row[0] for row in rows]


async def insert_fact(session: AsyncSession, generation: int, fact: Fact) -> None:
    """Store a fact once per generation, whoever applies it first (live consumer or replay)."""
    await session.execute(
        _insert_ignoring_duplicates(session, FactRow).values(
            generation=generation,
            event_id=fact.event_id,
            type=fact.type,
            unit_id=fact.unit_id,
            at=fact.at,
            achievement_id=fact.achievement_id,
            kind=fact.kind,
            basis=fact.basis,
            amount=fact.amount,
            ref_id=fact.ref_id,
            person_ids=list(fact.person_ids),
            details=fact.details,
        )
    )


async def insert_unit(session: AsyncSession, generation: int, unit_id: str, name: str) -> None:
    await session.execute(
        _insert_ignoring_duplicates(session, UnitRow).values(generation=generation, unit_id=unit_id, name=name)
    )


async def insert_achievement(session: AsyncSession, generation: int, achievement: AchievementFacts) -> None:
    await session.execute(
        _insert_ignoring_duplicates(session, AchievementRow).values(
            generation=generation,
            achievement_id=achievement.achievement_id,
            unit_id=achievement.unit_id,
            title=achievement.title,
            department=achievement.department,
            field=achievement.field,
            first_granted_on=achievement.first_granted_on,
            completer_ids=list(achievement.completer_ids),
            national_interest=achievement.national_interest,
            registered_on=achievement.registered_on,
        )
    )


async def insert_correction(
    session: AsyncSession, generation: int, event_id: str, achievement_id: str, at: datetime, correction: dict[str, Any]
) -> None:
    await session.execute(
        _insert_ignoring_duplicates(session, CorrectionRow).values(
            generation=generation, event_id=event_id, achievement_id=achievement_id, at=at, correction=correction
        )
    )


async def insert_technology_manager(
    session: AsyncSession, generation: int, manager_id: str, person_id: str, unit_id: str | None
) -> None:
    await session.execute(
        _insert_ignoring_duplicates(session, TechnologyManagerRow).values(
            generation=generation, technology_manager_id=manager_id, person_id=person_id, unit_id=unit_id
        )
    )


def _fact(row: FactRow) -> Fact:
    return Fact(
        event_id=row.event_id,
        type=row.type,
        unit_id=row.unit_id,
        at=row.at,
        achievement_id=row.achievement_id,
        kind=row.kind,
        basis=row.basis,
        amount=row.amount,
        ref_id=row.ref_id,
        person_ids=tuple(row.person_ids or ()),
        details=row.details or {},
    )


async def list_facts(session: AsyncSession, generation: int, unit_ids: Sequence[str] | None = None) -> list[Fact]:
    """Every fact of the generation, or of some units (all years: states need the earlier ones)."""
    query = select(FactRow).where(FactRow.generation == generation)
    if unit_ids is not None:
        query = query.where(FactRow.unit_id.in_(unit_ids))
    return [_fact(row) for row in (await session.execute(query)).scalars()]


async def list_achievements(
    session: AsyncSession, generation: int, unit_ids: Sequence[str] | None = None
) -> dict[str, AchievementFacts]:
    """Achievements as their corrections left them."""
    query = select(AchievementRow).where(AchievementRow.generation == generation)
    if unit_ids is not None:
        query = query.where(AchievementRow.unit_id.in_(unit_ids))
    rows = list((await session.execute(query)).scalars())
    corrections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    correction_query = (
        select(CorrectionRow)
        .where(CorrectionRow.generation == generation)
        .order_by(CorrectionRow.at, CorrectionRow.event_id)
    )
    if unit_ids is not None:
        correction_query = correction_query.where(CorrectionRow.achievement_id.in_([row.achievement_id for row in rows]))
    for correction in (await session.execute(correction_query)).scalars():
        corrections[correction.achievement_id].append(correction.correction)
    result = {}
    for row in rows:
        achievement = AchievementFacts(
            achievement_id=row.achievement_id,
            unit_id=row.unit_id,
            title=row.title,
            department=row.department,
            field=row.field,
            first_granted_on=row.first_granted_on,
            completer_ids=tuple(row.completer_ids or ()),
            national_interest=row.national_interest,
            registered_on=row.registered_on,
        )
        result[row.achievement_id] = corrected(achievement, corrections.get(row.achievement_id, []))
    return result


async def list_units(session: AsyncSession, generation: int, after: str | None, limit: int) -> list[UnitRow]:
    """Units in id order, a page at a time (`limit + 1` rows: the extra one says there is more)."""
    query = select(UnitRow).where(UnitRow.generation == generation)
    if after is not None:
        query = query.where(UnitRow.unit_id > after)
    return list((await session.execute(query.order_by(UnitRow.unit_id).limit(limit + 1))).scalars())


async def get_unit_name(session: AsyncSession, generation: int, unit_id: str) -> str | None:
    return (
        await session.execute(select(UnitRow.name).where(UnitRow.generation == generation, UnitRow.unit_id == unit_id))
    ).scalar_one_or_none()


async def get_technology_manager(session: AsyncSession, generation: int, manager_id: str) -> TechnologyManagerRow | None:
    return (
        await session.execute(
            select(TechnologyManagerRow).where(
                TechnologyManagerRow.generation == generation,
                TechnologyManagerRow.technology_manager_id == manager_id,
            )
        )
    ).scalar_one_or_none()


async def get_rebuild(session: AsyncSession, rebuild_id: str) -> Rebuild | None:
    return await session.get(Rebuild, rebuild_id)


async def get_claimable_rebuild(session: AsyncSession, stale_before: datetime) -> Rebuild | None:
    """A running rebuild whose process stopped renewing its heartbeat (or that never started)."""
    return (
        await session.execute(
            select(Rebuild).where(Rebuild.state == "running", Rebuild.heartbeat_at < stale_before).limit(1)
        )
    ).scalar_one_or_none()


async def claim_rebuild(session: AsyncSession, rebuild_id: str, seen_heartbeat: datetime, now: datetime) -> bool:
    """Compare-and-set on the heartbeat: exactly one replica takes a stale rebuild over."""
    result = await session.execute(
        update(Rebuild)
        .where(Rebuild.id == rebuild_id, Rebuild.state == "running", Rebuild.heartbeat_at == seen_heartbeat)
        .values(heartbeat_at=now)
    )
    return result.rowcount == 1


async def next_generation_id(session: AsyncSession) -> int:
    return int((await session.execute(select(func.max(Generation.id)))).scalar_one() or 0) + 1


async def drop_generations(session: AsyncSession, generations: Iterable[int]) -> None:
    """Delete every row of retired generations."""
    ids = list(generations)
    if not ids:
        return
    for model in MODEL_TABLES:
        await session.execute(delete(model).where(model.generation.in_(ids)))
    await session.execute(delete(Generation).where(Generation.id.in_(ids)))
