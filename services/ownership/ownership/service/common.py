"""What every ownership use case shares: access checks, emitting, and the achievement aggregate's load and save."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ownership import repository
from ownership.domain.achievement import Achievement, Decided
from ownership.domain.rights import Holding, OpenTransaction, rights_from_json, rights_to_json
from ownership.models import INFRA, Empowerment
from ownership.models import Achievement as AchievementRow
from servicekit.auth import Principal, ensure_unit_access
from servicekit.db import new_version
from servicekit.errors import Forbidden, NotFound
from servicekit.outbox import EventEmitter

SOURCE = "ownership"
READ_GLOBAL_ROLES = ("department", "platform_admin")


emit_event = EventEmitter(SOURCE, INFRA)
"""Write one event to the outbox, in the caller's transaction."""


async def emit_decided(session: AsyncSession, decided: Decided, now: datetime) -> None:
    """Write every event an aggregate decided, in order."""
    for event in decided.events:
        await emit_event(session, event.type, event.subject, event.payload, now)


def ensure_reader(actor: Principal, unit_id: str) -> None:
    """The unit's unit_admin and researchers, department and platform_admin read; another unit's staff get 404."""
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin", "researcher"), global_roles=READ_GLOBAL_ROLES)


def ensure_writer(actor: Principal, unit_id: str) -> None:
    """Only the unit's own unit_admin writes; another unit's staff still get 404, readers 403."""
    ensure_reader(actor, unit_id)
    if not (actor.has("unit_admin") and actor.unit_id == unit_id):
        raise Forbidden("only the unit's unit_admin may change its achievements")


async def load_row(session: AsyncSession, actor: Principal, achievement_id: str, *, write: bool) -> AchievementRow:
    """The achievement's row after the access check (locked when writing)."""
    row = await repository.get_achievement(session, achievement_id, for_update=write)
    if row is None:
        raise NotFound()
    (ensure_writer if write else ensure_reader)(actor, row.unit_id)
    return row


def holding_of(empowerment: Empowerment) -> Holding:
    """An empowerment row as the rights record sees it."""
    return Holding(
        empowerment_id=empowerment.id,
        type=empowerment.type,
        team_share=empowerment.team_share,
        unit_share=empowerment.unit_share,
        start_on=empowerment.start_on,
        end_on=empowerment.end_on,
        converted=empowerment.conversion is not None,
    )


async def aggregate_of(session: AsyncSession, row: AchievementRow, *, with_records: bool = True) -> Achievement:
    """Build the aggregate from its row, its empowerments, the transactions pricing has open for it and
    (for the gates) its compliance records."""
    empowerments = await repository.list_achievement_empowerments(session, row.id)
    kinds = await repository.list_compliance_kinds(session, row.id) if with_records else frozenset()
    open_transactions = tuple(
        OpenTransaction(t.transaction_id, t.kind or "unknown", t.scope, t.start_on, t.end_on, t.opened_on)
        for t in await repository.list_open_transactions(session, row.id)
    )
    return Achievement(
        id=row.id,
        unit_id=row.unit_id,
        version=row.version,
        ip_rights=tuple(row.ip_rights),
        completers=tuple(row.completers),
        department=row.department,
        field=row.field,
        security={
            "national_interest": row.national_interest,
            "classified": row.classified,
            "key_core_technology": row.key_core_technology,
        },
        ethics_review_required=row.ethics_review_required,
        record_kinds=kinds,
        transformed_at=row.transformed_at,
        separately_managed=row.separately_managed,
        separate_decision=row.separate_decision,
        separately_managed_at=row.separately_managed_at,
        pool_excluded=row.pool_excluded,
        pool_exclusion_reason=row.pool_exclusion_reason,
        holdings=tuple(holding_of(e) for e in empowerments),
        rights=rights_from_json(row.rights, open_transactions),
    )


async def load_aggregate(
    session: AsyncSession, actor: Principal, achievement_id: str, *, write: bool
) -> tuple[AchievementRow, Achievement]:
    """The achievement's row and aggregate, after the access check."""
    row = await load_row(session, actor, achievement_id, write=write)
    return row, await aggregate_of(session, row)


def save_aggregate(row: AchievementRow, achievement: Achievement) -> None:
    """Copy the aggregate's state onto its row (the session flushes it)."""
    if achievement.version != row.version:  # also for what the row does not show (its compliance records)
        new_version(row)
    row.ip_rights = list(achievement.ip_rights)
    row.completers = list(achievement.completers)
    row.first_granted_on = achievement.first_granted_on
    row.department = achievement.department
    row.field = achievement.field
    row.national_interest = achievement.security["national_interest"]
    row.classified = achievement.security["classified"]
    row.key_core_technology = achievement.security["key_core_technology"]
    row.ethics_review_required = achievement.ethics_review_required
    row.transformed = achievement.transformed
    row.transformed_at = achievement.transformed_at
    row.status = "transformed" if achievement.transformed else "held"
    row.separately_managed = achievement.separately_managed
    row.separate_decision = achievement.separate_decision
    row.separately_managed_at = achievement.separately_managed_at
    row.pool_excluded = achievement.pool_excluded
    row.pool_exclusion_reason = achievement.pool_exclusion_reason
    row.rights = rights_to_json(achievement.rights)


def save_holding(empowerment: Empowerment, holding: Holding) -> None:
    """Copy a changed holding onto its empowerment row."""
    empowerment.type = holding.type
    empowerment.team_share = holding.team_share
    empowerment.unit_share = holding.unit_share
    empowerment.end_on = holding.end_on


def iso(day: date | None) -> str | None:
    """A day as ISO text, or None."""
    return day.isoformat() if day else None
