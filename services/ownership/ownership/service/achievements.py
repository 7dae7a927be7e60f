"""Achievement use cases: registration, reads, corrections, compliance records, separate management, pool exclusion."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import AchievementRegistered
from ownership import repository
from ownership.domain import pool as pool_rules
from ownership.domain.achievement import Decided
from ownership.models import Achievement as AchievementRow
from ownership.models import ComplianceRecord
from ownership.schemas import (
    AchievementCorrection,
    AchievementCreate,
    AchievementRead,
    ComplianceRecordCreate,
    ComplianceRecordRead,
    PoolExclusionCreate,
    SeparateManagementCreate,
)
from ownership.service.common import (
    READ_GLOBAL_ROLES,
    emit_decided,
    emit_event,
    ensure_writer,
    load_aggregate,
    load_row,
    save_aggregate,
)
from servicekit.auth import Principal
from servicekit.clock import shanghai_day
from servicekit.db import insert_new
from servicekit.errors import Forbidden, NotFound, PolicyViolation, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of


def record_read(record: ComplianceRecord) -> ComplianceRecordRead:
    """A compliance record as the API shows it."""
    return ComplianceRecordRead(
        id=record.id, achievement_id=record.achievement_id, kind=record.kind,
        reference=record.reference, recorded_on=record.recorded_on,
    )


def achievement_read(row: AchievementRow, records: list[ComplianceRecord], today: date) -> AchievementRead:
    """The public shape of an achievement (contract 1 of the lead's cross-service contracts)."""
    return AchievementRead(
        id=row.id,
        unit_id=row.unit_id,
        title=row.title,
        kind=row.kind,
        status=row.status,
        transformed=row.transformed,
        separately_managed=row.separately_managed,
        in_pool=pool_rules.is_pool_member(
            first_granted_on=row.first_granted_on,
            transformed=row.transformed,
            national_interest=row.national_interest,
            excluded=row.pool_excluded,
            today=today,
        ),
        pool_exclusion_reason=row.pool_exclusion_reason,
        ip_rights=row.ip_rights,
        completers=row.completers,
        security={
            "national_interest": row.national_interest,
            "classified": row.classified,
            "key_core_technology": row.key_core_technology,
        },
        ethics_review_required=row.ethics_review_required,
        department=row.department,
        field=row.field,
        compliance_records=[record_read(r) for r in records],
        separate_management_decision=row.separate_decision,
        created_at=row.created_at,
        version=row.version,
    )


async def read_of(session: AsyncSession, row: AchievementRow, now: datetime) -> AchievementRead:
    """The achievement as the API shows it now, with its compliance records."""
    records = await repository.list_compliance_records(session, [row.id])
    return achievement_read(row, records, shanghai_day(now))


async def register_achievement(
    session: AsyncSession, *, actor: Principal, data: AchievementCreate, now: datetime
) -> AchievementRead:
    """The unit's administrator registers an achievement with its IP rights, completers, flags, department and field.

    The unit must exist: its foreign key says so at the insert (one statement fewer than looking the
    unit up first, on the path every registration takes; bench scenario 2).
    """
    ensure_writer(actor, data.unit_id)
    ip_rights = [right.model_dump(mode="json") for right in data.ip_rights]
    completers = [completer.model_dump(mode="json") for completer in data.completers]
    security = data.security.model_dump()
    row = AchievementRow(
        id=new_id(), unit_id=data.unit_id, title=data.title, kind=data.kind, status="held",
        ip_rights=ip_rights, completers=completers,
        first_granted_on=min((right.granted_on for right in data.ip_rights), default=None),
        national_interest=data.security.national_interest, classified=data.security.classified,
        key_core_technology=data.security.key_core_technology, ethics_review_required=data.ethics_review_required,
        department=data.department, field=data.field, rights={},
        transformed=False, separately_managed=False, pool_excluded=False, created_at=now, version=1,
    )
    try:
        await insert_new(session, row)
    except IntegrityError as exc:  # the only constraint a new achievement can break: an unknown unit
        raise NotFound() from exc
    event = AchievementRegistered(
        achievement_id=row.id, unit_id=row.unit_id, title=row.title, kind=row.kind, department=row.department,
        field=row.field, ip_rights=ip_rights, completers=completers, security=security,
    )
    await emit_event(session, "ownership.achievement.registered", row.id, event, now)
    return achievement_read(row, [], shanghai_day(now))


async def get_achievement(session: AsyncSession, *, actor: Principal, achievement_id: str, now: datetime) -> AchievementRead:
    """Read one achievement (its unit's staff, department, platform_admin, other services)."""
    return await read_of(session, await load_row(session, actor, achievement_id, write=False), now)


async def list_achievements(
    session: AsyncSession,
    *,
    actor: Principal,
    unit_id: str | None,
    in_pool: bool | None,
    transformed: bool | None,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> Page[AchievementRead]:
    """List achievements; unit staff see only their own unit's."""
    if not actor.has(*READ_GLOBAL_ROLES, "service"):
        if not actor.has("unit_admin", "researcher"):
            raise Forbidden("your role may not list achievements")
        if unit_id is not None and unit_id != actor.unit_id:
            raise NotFound()
        unit_id = actor.unit_id
    key = decode_cursor(cursor)
    today = shanghai_day(now)
    rows = await repository.list_achievements(
        session, unit_id=unit_id, in_pool=in_pool, transformed=transformed,
        cutoff=pool_rules.pool_cutoff(today), after=str(key[0]) if key else None, limit=limit,
    )
    records = await repository.list_compliance_records(session, [row.id for row in rows[:limit]])
    by_achievement: dict[str, list[ComplianceRecord]] = {}
    for record in records:
        by_achievement.setdefault(record.achievement_id, []).append(record)
    return page_of(
        rows, limit, key=lambda row: [row.id],
        convert=lambda row: achievement_read(row, by_achievement.get(row.id, []), today),
    )


async def correct_achievement(
    session: AsyncSession,
    *,
    actor: Principal,
    achievement_id: str,
    data: AchievementCorrection,
    expected_version: int | None,
    now: datetime,
) -> AchievementRead:
    """Correct flags, IP rights, completers, department or field with a reason; the correction is an event (OWN-17)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    check_version(row.version, expected_version)
    changes = data.model_dump(mode="json", exclude_unset=True, exclude={"reason"})
    if any(value is None for name, value in changes.items() if name not in ("department", "field")):
        raise PolicyViolation("OWN-17", "a corrected fact cannot be null; leave it out to keep it")
    decided = achievement.correct(changes=changes, reason=data.reason)  # OWN-17
    return await _saved(session, row, decided, now)


async def add_compliance_record(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: ComplianceRecordCreate, now: datetime
) -> ComplianceRecordRead:
    """Record an export-control, secrecy, confidentiality or ethics record (OWN-13/14/15), as an event (OWN-17)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    record = ComplianceRecord(
        id=new_id(), achievement_id=row.id, kind=data.kind, reference=data.reference,
        recorded_on=data.recorded_on, created_at=now,
    )
    session.add(record)
    decided = achievement.record_compliance(
        record_id=record.id, kind=data.kind, reference=data.reference, recorded_on=data.recorded_on
    )
    save_aggregate(row, decided.achievement)
    await session.flush()
    await emit_decided(session, decided, now)
    return record_read(record)


async def separately_manage(
    session: AsyncSession,
    *,
    actor: Principal,
    achievement_id: str,
    data: SeparateManagementCreate,
    expected_version: int | None,
    now: datetime,
) -> AchievementRead:
    """Enter the achievement in the unit's separate ledger on the unit's own decision (OWN-7, OWN-8, OWN-12)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    check_version(row.version, expected_version)
    decision = data.decision.model_dump(mode="json") if data.decision else None
    decided = achievement.separately_manage(decision=decision, now=now)  # OWN-7, OWN-12
    return await _saved(session, row, decided, now)


async def exclude_from_pool(
    session: AsyncSession,
    *,
    actor: Principal,
    achievement_id: str,
    data: PoolExclusionCreate,
    expected_version: int | None,
    now: datetime,
) -> AchievementRead:
    """Take an achievement out of the pay-later pool with a recorded reason (OWN-10), as an event (OWN-17)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    check_version(row.version, expected_version)
    decided = achievement.exclude_from_pool(reason=data.reason)  # OWN-10
    return await _saved(session, row, decided, now)


async def restore_to_pool(
    session: AsyncSession, *, actor: Principal, achievement_id: str, expected_version: int | None, now: datetime
) -> AchievementRead:
    """Undo an exclusion: the achievement is a pool member again if it qualifies (OWN-10), as an event (OWN-17)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    check_version(row.version, expected_version)
    decided = achievement.restore_to_pool()
    return await _saved(session, row, decided, now)


async def _saved(session: AsyncSession, row: AchievementRow, decided: Decided, now: datetime) -> AchievementRead:
    """Save what the aggregate decided, emit its events, answer with the achievement as it now stands."""
    save_aggregate(row, decided.achievement)
    await session.flush()
    await emit_decided(session, decided, now)
    return await read_of(session, row, now)
