"""Ownership use cases: load → domain decides → save → outbox, in the caller's transaction."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy
from contracts.envelope import CloudEvent
from contracts.events import (
    AchievementRegistered,
    AchievementSeparatelyManaged,
    DealConcluded,
    EmpowermentGranted,
    EquityTransferCompleted,
    HorizontalInvestmentRecorded,
    LicenceGranted,
    PatentChangeOverdue,
    PatentChangeRegistered,
    PoolPublished,
    UnitPolicyChanged,
    UnitRegistered,
    UsageRightConverted,
    UsageRightExtended,
)
from ownership import repository
from ownership.domain import empowerment as emp_rules
from ownership.domain import pool as pool_rules
from ownership.domain import transformation as tx_rules
from ownership.domain.gates import Action, SecurityFacts, check_gates
from ownership.domain.units import check_unit_type
from ownership.models import (
    INFRA,
    Achievement,
    ComplianceRecord,
    ConcludedDeal,
    Empowerment,
    EquityTransfer,
    PayLaterLicence,
    PoolPublication,
    StateEquity,
    Unit,
)
from ownership.schemas import (
    AchievementCreate,
    AchievementRead,
    ComplianceRecordCreate,
    ComplianceRecordRead,
    Consent,
    ConversionCreate,
    Decision,
    EmpowermentCreate,
    EmpowermentRead,
    EquityTransferCreate,
    EquityTransferRead,
    ExtensionCreate,
    LedgerItem,
    PatentChangeCreate,
    PatentChangeRead,
    PayLaterLicenceCreate,
    PayLaterLicenceRead,
    PoolExclusionCreate,
    PoolItem,
    PoolPublicationRead,
    SeparateLedgerRead,
    SeparateManagementCreate,
    UnitCreate,
    UnitPolicyInput,
    UnitRead,
)
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import shanghai_day
from servicekit.db import insert_new, new_version
from servicekit.errors import Conflict, Forbidden, InvalidInput, NotFound, check_version
from servicekit.outbox import EventEmitter, new_id
from servicekit.pagination import Page, decode_cursor, page_of

SOURCE = "ownership"


_emit = EventEmitter(SOURCE, INFRA)


def unit_read(unit: Unit) -> UnitRead:
    return UnitRead(
        id=unit.id,
        name=unit.name,
        type=unit.type,
        central_in_liaoning=unit.central_in_liaoning,
        policy=_policy(unit),
        created_at=unit.created_at,
        version=unit.version,
    )


def _policy(unit: Unit) -> UnitPolicy:
    return UnitPolicy(
        notice_days=unit.notice_days,
        review_request_days=unit.review_request_days,
        patent_change_days=unit.patent_change_days,
    )


async def register_unit(session: AsyncSession, *, actor: Principal, data: UnitCreate, now: datetime) -> UnitRead:
    """Register a unit (platform_admin) with its policy, defaults where not given (SCO-1)."""
    require_role(actor, "platform_admin")
    check_unit_type(data.type)
    defaults = UnitPolicy()
    given = data.policy or UnitPolicyInput()
    unit = Unit(
        id=new_id(),
        name=data.name,
        type=data.type,
        central_in_liaoning=data.central_in_liaoning,
        notice_days=given.notice_days or defaults.notice_days,
        review_request_days=given.review_request_days or defaults.review_request_days,
        patent_change_days=given.patent_change_days or defaults.patent_change_days,
        created_at=now,
        version=1,
    )
    session.add(unit)
    await session.flush()
    await _emit(
        session,
        "ownership.unit.registered",
        unit.id,
        UnitRegistered(
            unit_id=unit.id,
            name=unit.name,
            type=unit.type,
            central_in_liaoning=unit.central_in_liaoning,
            policy=_policy(unit),
            version=unit.version,
        ),
        now,
    )
    return unit_read(unit)


async def get_unit(session: AsyncSession, *, actor: Principal, unit_id: str) -> UnitRead:
    """Any authenticated caller may read a unit and its policy."""
    unit = await repository.get_unit(session, unit_id)
    if unit is None:
        raise NotFound()
    return unit_read(unit)


async def change_policy(
    session: AsyncSession,
    *,
    actor: Principal,
    unit_id: str,
    changes: UnitPolicyInput,
    expected_version: int | None,
    now: datetime,
) -> UnitRead:
    """The unit's administrator changes its periods; the other services learn of it by event."""
    unit = await repository.get_unit(session, unit_id, for_update=True)
    if unit is None:
        raise NotFound()
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=("platform_admin",))
    check_version(unit.version, expected_version)
    for name, value in changes.model_dump(exclude_none=True).items():
        setattr(unit, name, value)
    await session.flush()
    await _emit(
        session,
        "ownership.unit.policy_changed",
        unit.id,
        UnitPolicyChanged(unit_id=unit.id, policy=_policy(unit), version=unit.version),
        now,
    )
    return unit_read(unit)


# --- access (API.md §2) -------------------------------------------------------------------------

READ_GLOBAL_ROLES = ("department", "platform_admin")


def _ensure_reader(actor: Principal, unit_id: str) -> None:
    """The unit's unit_admin and researchers, department and platform_admin read; another unit's staff get 404."""
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin", "researcher"), global_roles=READ_GLOBAL_ROLES)


def _ensure_writer(actor: Principal, unit_id: str) -> None:
    """Only the unit's own unit_admin writes; another unit's staff still get 404, readers 403."""
    _ensure_reader(actor, unit_id)
    if not (actor.has("unit_admin") and actor.unit_id == unit_id):
        raise Forbidden("only the unit's unit_admin may change its achievements")


async def _load_achievement(
    session: AsyncSession, actor: Principal, achievement_id: str, *, write: bool
) -> Achievement:
    achievement = await repository.get_achievement(session, achievement_id, for_update=write)
    if achievement is None:
        raise NotFound()
    (_ensure_writer if write else _ensure_reader)(actor, achievement.unit_id)
    return achievement


async def _load_empowerment(
    session: AsyncSession, actor: Principal, empowerment_id: str, *, write: bool
) -> Empowerment:
    empowerment = await repository.get_empowerment(session, empowerment_id, for_update=write)
    if empowerment is None:
        raise NotFound()
    (_ensure_writer if write else _ensure_reader)(actor, empowerment.unit_id)
    return empowerment


# --- conversions to API models -----------------------------------------------------------------


def _in_pool(achievement: Achievement, today: date) -> bool:
    return pool_rules.is_pool_member(
        first_granted_on=achievement.first_granted_on,
        transformed=achievement.transformed,
        national_interest=achievement.national_interest,
        excluded=achievement.pool_excluded,
        today=today,
    )


def _record_read(record: ComplianceRecord) -> ComplianceRecordRead:
    return ComplianceRecordRead(
        id=record.id,
        achievement_id=record.achievement_id,
        kind=record.kind,
        reference=record.reference,
        recorded_on=record.recorded_on,
    )


def achievement_read(achievement: Achievement, records: list[ComplianceRecord], today: date) -> AchievementRead:
    """The public shape of an achievement (contract 1 of the lead's cross-service contracts)."""
    return AchievementRead(
        id=achievement.id,
        unit_id=achievement.unit_id,
        title=achievement.title,
        kind=achievement.kind,
        status=achievement.status,
        transformed=achievement.transformed,
        separately_managed=achievement.separately_managed,
        in_pool=_in_pool(achievement, today),
        pool_exclusion_reason=achievement.pool_exclusion_reason,
        ip_rights=achievement.ip_rights,
        completers=achievement.completers,
        security={
            "national_interest": achievement.national_interest,
            "classified": achievement.classified,
            "key_core_technology": achievement.key_core_technology,
        },
        ethics_review_required=achievement.ethics_review_required,
        compliance_records=[_record_read(r) for r in records],
        separate_management_decision=achievement.separate_decision,
        created_at=achievement.created_at,
        version=achievement.version,
    )


async def _achievement_read(session: AsyncSession, achievement: Achievement, now: datetime) -> AchievementRead:
    records = await repository.list_compliance_records(session, [achievement.id])
    return achievement_read(achievement, records, shanghai_day(now))


def empowerment_read(empowerment: Empowerment, today: date) -> EmpowermentRead:
    """An empowerment with its term state and patent-change follow-up as of `today` (OWN-3, OWN-6)."""
    return EmpowermentRead(
        id=empowerment.id,
        achievement_id=empowerment.achievement_id,
        unit_id=empowerment.unit_id,
        type=empowerment.type,
        state=emp_rules.term_state(empowerment.type, empowerment.end_on, today),
        team_share=empowerment.team_share,
        unit_share=empowerment.unit_share,
        start_on=empowerment.start_on,
        end_on=empowerment.end_on,
        overseas=empowerment.overseas,
        decision=empowerment.decision,
        recorded_on=empowerment.recorded_on,
        patent_change=PatentChangeRead(
            state=emp_rules.patent_change_state(empowerment.patent_change_state, empowerment.patent_change_due_on, today),
            due_on=empowerment.patent_change_due_on,
            registered_on=empowerment.patent_change_registered_on,
            reference=empowerment.patent_change_reference,
        ),
        extensions=empowerment.extensions,
        conversion=empowerment.conversion,
        created_at=empowerment.created_at,
        version=empowerment.version,
    )


def _facts(achievement: Achievement, records: list[ComplianceRecord]) -> SecurityFacts:
    return SecurityFacts(
        national_interest=achievement.national_interest,
        classified=achievement.classified,
        key_core_technology=achievement.key_core_technology,
        ethics_review_required=achievement.ethics_review_required,
        record_kinds=frozenset(r.kind for r in records),
    )


async def _check_gates(session: AsyncSession, achievement: Achievement, action: Action, *, overseas: bool = False) -> None:
    records = await repository.list_compliance_records(session, [achievement.id])
    check_gates(_facts(achievement, records), action, overseas=overseas)  # OWN-12, OWN-13, OWN-14, OWN-15


def _decision(rule: str, decision: Decision | None) -> dict[str, Any]:
    """The decision as stored, after checking it is complete (`rule` is the rule requiring it)."""
    decision = decision or Decision()
    emp_rules.check_decision(rule, decision.body, decision.date, decision.reference)
    return decision.model_dump(mode="json")


def _consented(consent: Consent | None) -> bool:
    return consent is not None and not emp_rules.is_blank(consent.by) and consent.on is not None


def _mark_transformed(achievement: Achievement, now: datetime) -> bool:
    """Transformed once; it leaves the pool for good (OWN-10). False when it already was."""
    if achievement.transformed:
        return False
    achievement.transformed = True
    achievement.transformed_at = now
    achievement.status = "transformed"
    return True


# --- achievements --------------------------------------------------------------------------------


async def register_achievement(
    session: AsyncSession, *, actor: Principal, data: AchievementCreate, now: datetime
) -> AchievementRead:
    """The unit's administrator registers an achievement with its IP rights, completers and flags.

    The unit must exist: its foreign key says so at the insert (one statement fewer than looking the
    unit up first, on the path every registration takes; bench scenario 2).
    """
    _ensure_writer(actor, data.unit_id)
    achievement = Achievement(
        id=new_id(),
        unit_id=data.unit_id,
        title=data.title,
        kind=data.kind,
        status="held",
        ip_rights=[right.model_dump(mode="json") for right in data.ip_rights],
        completers=[completer.model_dump(mode="json") for completer in data.completers],
        first_granted_on=min((right.granted_on for right in data.ip_rights), default=None),
        national_interest=data.security.national_interest,
        classified=data.security.classified,
        key_core_technology=data.security.key_core_technology,
        ethics_review_required=data.ethics_review_required,
        transformed=False,
        separately_managed=False,
        pool_excluded=False,
        created_at=now,
        version=1,
    )
    try:
        await insert_new(session, achievement)
    except IntegrityError as exc:  # the only constraint a new achievement can break: an unknown unit
        raise NotFound() from exc
    await _emit(
        session,
        "ownership.achievement.registered",
        achievement.id,
        AchievementRegistered(
            achievement_id=achievement.id, unit_id=data.unit_id, title=achievement.title, kind=achievement.kind,
            completers=achievement.completers,  # FIN-6: finance rewards the completers it learns of here
        ),
        now,
    )
    return achievement_read(achievement, [], shanghai_day(now))


async def get_achievement(session: AsyncSession, *, actor: Principal, achievement_id: str, now: datetime) -> AchievementRead:
    """Read one achievement (its unit's staff, department, platform_admin, other services)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=False)
    return await _achievement_read(session, achievement, now)


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
    after = str(key[0]) if key else None
    today = shanghai_day(now)
    rows = await repository.list_achievements(
        session,
        unit_id=unit_id,
        in_pool=in_pool,
        transformed=transformed,
        cutoff=pool_rules.pool_cutoff(today),
        after=after,
        limit=limit,
    )
    records = await repository.list_compliance_records(session, [row.id for row in rows[:limit]])
    by_achievement: dict[str, list[ComplianceRecord]] = {}
    for record in records:
        by_achievement.setdefault(record.achievement_id, []).append(record)
    return page_of(
        rows,
        limit,
        key=lambda row: [row.id],
        convert=lambda row: achievement_read(row, by_achievement.get(row.id, []), today),
    )


async def add_compliance_record(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: ComplianceRecordCreate, now: datetime
) -> ComplianceRecordRead:
    """Record an export-control, secrecy, confidentiality or ethics record (OWN-13, OWN-14, OWN-15)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    record = ComplianceRecord(
        id=new_id(),
        achievement_id=achievement.id,
        kind=data.kind,
        reference=data.reference,
        recorded_on=data.recorded_on,
        created_at=now,
    )
    session.add(record)
    new_version(achievement)  # the achievement's read lists its compliance records
    await session.flush()
    return _record_read(record)


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
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    check_version(achievement.version, expected_version)
    await _check_gates(session, achievement, Action.SEPARATE_MANAGEMENT)  # OWN-12
    decision = _decision("OWN-7", data.decision)
    tx_rules.check_not_separately_managed(achievement.separately_managed)  # OWN-7
    # OWN-8: no supervising/finance department approval is asked for; the unit's decision suffices.
    achievement.separately_managed = True
    achievement.separate_decision = decision
    achievement.separately_managed_at = now
    await session.flush()
    await _emit(
        session,
        "ownership.achievement.separately_managed",
        achievement.id,
        AchievementSeparatelyManaged(achievement_id=achievement.id, unit_id=achievement.unit_id, decision=decision),
        now,
    )
    return await _achievement_read(session, achievement, now)


async def exclude_from_pool(
    session: AsyncSession,
    *,
    actor: Principal,
    achievement_id: str,
    data: PoolExclusionCreate,
    expected_version: int | None,
    now: datetime,
) -> AchievementRead:
    """Take an achievement out of the pay-later pool, with a recorded reason (OWN-10)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    check_version(achievement.version, expected_version)
    pool_rules.check_exclusion_reason(data.reason)  # OWN-10
    achievement.pool_excluded = True
    achievement.pool_exclusion_reason = (data.reason or "").strip()
    await session.flush()
    return await _achievement_read(session, achievement, now)


async def restore_to_pool(
    session: AsyncSession, *, actor: Principal, achievement_id: str, expected_version: int | None, now: datetime
) -> AchievementRead:
    """Undo an exclusion: the achievement is a pool member again if it qualifies (OWN-10)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    check_version(achievement.version, expected_version)
    if achievement.pool_excluded:
        achievement.pool_excluded = False
        achievement.pool_exclusion_reason = None
        await session.flush()
    return await _achievement_read(session, achievement, now)


# --- empowerment -------------------------------------------------------------------------------


async def grant_empowerment(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: EmpowermentCreate, now: datetime
) -> EmpowermentRead:
    """Grant the team ownership or a long-term usage right on the unit's decision (OWN-1, 2, 5, 6, 12–15)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    await _check_gates(session, achievement, Action.EMPOWERMENT, overseas=data.overseas)  # OWN-12..15
    decision = _decision("OWN-5", data.decision)  # OWN-5
    if data.type == emp_rules.EmpowermentType.OWNERSHIP:
        emp_rules.check_shares(data.team_share, data.unit_share)  # OWN-1
        if data.end_on is not None:
            raise InvalidInput("an ownership empowerment has no end_on")
    else:
        emp_rules.check_usage_right_term(data.start_on, data.end_on)  # OWN-2
        if data.team_share is not None or data.unit_share is not None:
            raise InvalidInput("a usage right has no shares; convert it to ownership for that (OWN-4)")
    unit = await repository.get_unit(session, achievement.unit_id)
    assert unit is not None  # achievements reference their unit by foreign key
    recorded_on = shanghai_day(now)
    empowerment = Empowerment(
        id=new_id(),
        achievement_id=achievement.id,
        unit_id=achievement.unit_id,
        type=data.type,
        team_share=data.team_share,
        unit_share=data.unit_share,
        start_on=data.start_on,
        end_on=data.end_on,
        overseas=data.overseas,
        decision=decision,
        recorded_on=recorded_on,
        patent_change_state=emp_rules.PatentChangeState.PENDING,
        patent_change_due_on=emp_rules.patent_change_due_on(recorded_on, unit.patent_change_days),  # OWN-6
        extensions=[],
        created_at=now,
        version=1,
    )
    session.add(empowerment)
    await session.flush()
    await _emit(
        session,
        "ownership.empowerment.granted",
        empowerment.id,
        EmpowermentGranted(
            empowerment_id=empowerment.id,
            achievement_id=achievement.id,
            unit_id=achievement.unit_id,
            type=empowerment.type,
            team_share=empowerment.team_share,
            unit_share=empowerment.unit_share,
            start_on=_iso(empowerment.start_on),
            end_on=_iso(empowerment.end_on),
            patent_change_due_on=empowerment.patent_change_due_on.isoformat(),
        ),
        now,
    )
    return empowerment_read(empowerment, recorded_on)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


async def get_empowerment(session: AsyncSession, *, actor: Principal, empowerment_id: str, now: datetime) -> EmpowermentRead:
    """Read one empowerment, with its term and patent-change state as of now (OWN-6)."""
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=False)
    return empowerment_read(empowerment, shanghai_day(now))


async def list_empowerments(
    session: AsyncSession, *, actor: Principal, achievement_id: str, limit: int, cursor: str | None, now: datetime
) -> Page[EmpowermentRead]:
    """The empowerments of one achievement."""
    achievement = await _load_achievement(session, actor, achievement_id, write=False)
    key = decode_cursor(cursor)
    rows = await repository.list_empowerments(
        session, achievement_id=achievement.id, after=str(key[0]) if key else None, limit=limit
    )
    today = shanghai_day(now)
    return page_of(rows, limit, key=lambda row: [row.id], convert=lambda row: empowerment_read(row, today))


async def register_patent_change(
    session: AsyncSession,
    *,
    actor: Principal,
    empowerment_id: str,
    data: PatentChangeCreate,
    expected_version: int | None,
    now: datetime,
) -> EmpowermentRead:
    """Register the patent ownership / application-right change with the IP office's reference (OWN-6)."""
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=True)
    check_version(empowerment.version, expected_version)
    emp_rules.check_patent_change_open(empowerment.patent_change_state)  # OWN-6
    empowerment.patent_change_state = emp_rules.PatentChangeState.REGISTERED
    empowerment.patent_change_registered_on = data.registered_on
    empowerment.patent_change_reference = data.reference
    await session.flush()
    await _emit(
        session,
        "ownership.patent_change.registered",
        empowerment.id,
        PatentChangeRegistered(
            empowerment_id=empowerment.id,
            achievement_id=empowerment.achievement_id,
            unit_id=empowerment.unit_id,
            registered_on=data.registered_on.isoformat(),
            reference=data.reference,
        ),
        now,
    )
    return empowerment_read(empowerment, shanghai_day(now))


async def extend_usage_right(
    session: AsyncSession,
    *,
    actor: Principal,
    empowerment_id: str,
    data: ExtensionCreate,
    expected_version: int | None,
    now: datetime,
) -> EmpowermentRead:
    """Extend a usage right, during or after its term, on the unit's decision (OWN-3)."""
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=True)
    check_version(empowerment.version, expected_version)
    emp_rules.check_extension(empowerment.type, empowerment.end_on, data.new_end_on)  # OWN-3
    decision = _decision("OWN-3", data.decision)
    empowerment.extensions = [
        *empowerment.extensions,
        {
            "previous_end_on": _iso(empowerment.end_on),
            "new_end_on": data.new_end_on.isoformat(),
            "decision": decision,
            "at": now.isoformat(),
        },
    ]
    empowerment.end_on = data.new_end_on
    await session.flush()
    await _emit(
        session,
        "ownership.usage_right.extended",
        empowerment.id,
        UsageRightExtended(
            empowerment_id=empowerment.id,
            achievement_id=empowerment.achievement_id,
            unit_id=empowerment.unit_id,
            end_on=data.new_end_on.isoformat(),
        ),
        now,
    )
    return empowerment_read(empowerment, shanghai_day(now))


async def convert_usage_right(
    session: AsyncSession,
    *,
    actor: Principal,
    empowerment_id: str,
    data: ConversionCreate,
    expected_version: int | None,
    now: datetime,
) -> EmpowermentRead:
    """Convert a usage right to ownership during its term with both consents (OWN-4, OWN-1)."""
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=True)
    check_version(empowerment.version, expected_version)
    today = shanghai_day(now)
    emp_rules.check_conversion(
        empowerment.type,
        empowerment.end_on,
        today,
        unit_consent=_consented(data.unit_consent),
        team_consent=_consented(data.team_consent),
    )  # OWN-4
    emp_rules.check_shares(data.team_share, data.unit_share)  # OWN-1
    achievement = await repository.get_achievement(session, empowerment.achievement_id, for_update=True)
    assert achievement is not None  # empowerments reference their achievement by foreign key
    await _check_gates(session, achievement, Action.EMPOWERMENT, overseas=empowerment.overseas)  # OWN-12..15
    empowerment.conversion = {
        "previous_term": {"start_on": _iso(empowerment.start_on), "end_on": _iso(empowerment.end_on)},
        "unit_consent": data.unit_consent.model_dump(mode="json") if data.unit_consent else None,
        "team_consent": data.team_consent.model_dump(mode="json") if data.team_consent else None,
        "at": now.isoformat(),
    }
    empowerment.type = emp_rules.EmpowermentType.OWNERSHIP
    empowerment.team_share = data.team_share
    empowerment.unit_share = data.unit_share
    empowerment.end_on = None  # ownership has no term
    await session.flush()
    await _emit(
        session,
        "ownership.usage_right.converted",
        empowerment.id,
        UsageRightConverted(
            empowerment_id=empowerment.id,
            achievement_id=empowerment.achievement_id,
            unit_id=empowerment.unit_id,
            team_share=empowerment.team_share,
            unit_share=empowerment.unit_share,
        ),
        now,
    )
    return empowerment_read(empowerment, today)


async def sweep_overdue_patent_changes(session: AsyncSession, now: datetime) -> None:
    """Sweeper: mark pending patent changes past their due day as overdue and announce it (OWN-6)."""
    today = shanghai_day(now)
    for empowerment in await repository.list_due_patent_changes(session, today=today):
        # Re-check under the row lock: another replica or a registration may have won.
        if emp_rules.patent_change_state(empowerment.patent_change_state, empowerment.patent_change_due_on, today) != "overdue":
            continue
        empowerment.patent_change_state = emp_rules.PatentChangeState.OVERDUE
        await _emit(
            session,
            "ownership.patent_change.overdue",
            empowerment.id,
            PatentChangeOverdue(
                empowerment_id=empowerment.id,
                achievement_id=empowerment.achievement_id,
                unit_id=empowerment.unit_id,
                due_on=empowerment.patent_change_due_on.isoformat(),
            ),
            now,
        )
    await session.flush()


# --- equity transfer and pay-later licences ----------------------------------------------------


async def transfer_equity(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: EquityTransferCreate, now: datetime
) -> EquityTransferRead:
    """Pass the unit's retained share to the team on the unit's own decision (OWN-11, OWN-8)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    today = shanghai_day(now)
    ownership = [
        e
        for e in await repository.list_ownership_empowerments(session, achievement.id)
        if emp_rules.term_state(e.type, e.end_on, today) == "active"
    ]
    current = ownership[0] if ownership else None
    tx_rules.check_equity_transfer(
        has_ownership_empowerment=current is not None,
        separately_managed=achievement.separately_managed,
        unit_share=current.unit_share if current else None,
        mode=data.mode,
        fee=data.fee,
        has_enterprise=data.enterprise is not None,
    )  # OWN-11
    assert current is not None and current.unit_share is not None  # checked by OWN-11 above
    await _check_gates(session, achievement, Action.EQUITY_TRANSFER)  # OWN-14, OWN-15
    decision = _decision("OWN-11", data.decision)
    # OWN-8: the unit's decision is all it takes; no supervising department approval exists.
    transfer = EquityTransfer(
        id=new_id(),
        achievement_id=achievement.id,
        empowerment_id=current.id,
        unit_id=achievement.unit_id,
        mode=data.mode,
        fee=data.fee,
        enterprise=data.enterprise.model_dump(mode="json") if data.enterprise else None,
        transferred_share=current.unit_share,
        decision=decision,
        created_at=now,
        version=1,
    )
    current.team_share = emp_rules.HUNDRED
    current.unit_share = Decimal("0.00")
    session.add(transfer)
    await session.flush()
    await _emit(
        session,
        "ownership.equity_transfer.completed",
        transfer.id,
        EquityTransferCompleted(
            equity_transfer_id=transfer.id,
            achievement_id=achievement.id,
            unit_id=achievement.unit_id,
            mode=transfer.mode,
            fee=transfer.fee,
            enterprise=transfer.enterprise,
            empowerment_id=current.id,
            transferred_share=transfer.transferred_share,
        ),
        now,
    )
    return _transfer_read(transfer)


def _transfer_read(transfer: EquityTransfer) -> EquityTransferRead:
    return EquityTransferRead(
        id=transfer.id,
        achievement_id=transfer.achievement_id,
        empowerment_id=transfer.empowerment_id,
        unit_id=transfer.unit_id,
        mode=transfer.mode,
        fee=transfer.fee,
        enterprise=transfer.enterprise,
        team_share=emp_rules.HUNDRED,
        unit_share=Decimal("0.00"),
        transferred_share=transfer.transferred_share,
        decision=transfer.decision,
        created_at=transfer.created_at,
        version=transfer.version,
    )


async def grant_pay_later_licence(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: PayLaterLicenceCreate, now: datetime
) -> PayLaterLicenceRead:
    """License an achievement use-first-pay-later to an SME; it is then transformed (OWN-9, OWN-12–15)."""
    achievement = await _load_achievement(session, actor, achievement_id, write=True)
    await _check_gates(session, achievement, Action.PAY_LATER_LICENCE, overseas=data.licensee.overseas)  # OWN-12..15
    tx_rules.check_pay_later_licence(
        data.licensee.size, data.fee, data.payment_due_on, data.payment_conditions
    )  # OWN-9
    assert data.fee is not None and data.payment_due_on is not None and data.payment_conditions is not None
    licence = PayLaterLicence(
        id=new_id(),
        achievement_id=achievement.id,
        unit_id=achievement.unit_id,
        licensee=data.licensee.model_dump(mode="json"),
        fee=data.fee,
        payment_due_on=data.payment_due_on,
        payment_conditions=data.payment_conditions.strip(),
        created_at=now,
        version=1,
    )
    session.add(licence)
    _mark_transformed(achievement, now)
    await session.flush()
    await _emit(
        session,
        "ownership.licence.granted",
        licence.id,
        LicenceGranted(
            licence_id=licence.id,
            achievement_id=achievement.id,
            unit_id=achievement.unit_id,
            fee=licence.fee,
            licensee=licence.licensee,
            payment_due_on=licence.payment_due_on.isoformat(),
            payment_conditions=licence.payment_conditions,
        ),
        now,
    )
    return PayLaterLicenceRead(
        id=licence.id,
        achievement_id=licence.achievement_id,
        unit_id=licence.unit_id,
        licensee=licence.licensee,
        fee=licence.fee,
        payment_due_on=licence.payment_due_on,
        payment_conditions=licence.payment_conditions,
        created_at=licence.created_at,
        version=licence.version,
    )


# --- pool and separate ledger ------------------------------------------------------------------


def _pool_item(achievement: Achievement) -> PoolItem:
    assert achievement.first_granted_on is not None  # pool members have an IP right (OWN-10)
    return PoolItem(
        achievement_id=achievement.id,
        title=achievement.title,
        kind=achievement.kind,
        ip_rights=achievement.ip_rights,
        held_since=achievement.first_granted_on,
    )


async def get_pool(
    session: AsyncSession, *, unit_id: str, limit: int, cursor: str | None, now: datetime
) -> Page[PoolItem]:
    """The unit's current pay-later pool, public (OWN-10)."""
    if await repository.get_unit(session, unit_id) is None:
        raise NotFound()
    key = decode_cursor(cursor)
    cutoff = pool_rules.pool_cutoff(shanghai_day(now))
    rows = await repository.list_pool(session, unit_id=unit_id, cutoff=cutoff, after=str(key[0]) if key else None, limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=_pool_item)


def _publication_read(publication: PoolPublication) -> PoolPublicationRead:
    return PoolPublicationRead(
        unit_id=publication.unit_id,
        number=publication.number,
        published_at=publication.published_at,
        items=publication.items,
    )


async def publish_pool(session: AsyncSession, *, actor: Principal, unit_id: str, now: datetime) -> PoolPublicationRead:
    """Publish the current pool as the unit's next numbered, immutable publication (OWN-10)."""
    # Locking the unit row serialises a unit's publications, so numbers are 1, 2, 3 … with no gaps.
    unit = await repository.get_unit(session, unit_id, for_update=True)
    if unit is None:
        raise NotFound()
    _ensure_writer(actor, unit.id)
    cutoff = pool_rules.pool_cutoff(shanghai_day(now))
    members = await repository.list_pool(session, unit_id=unit.id, cutoff=cutoff, after=None, limit=None)
    items = [_pool_item(member).model_dump(mode="json") for member in members]
    number = await repository.next_publication_number(session, unit.id)
    publication = PoolPublication(id=new_id(), unit_id=unit.id, number=number, published_at=now, items=items)
    try:
        async with session.begin_nested():
            session.add(publication)
    except IntegrityError as exc:
        # The unique (unit_id, number) is the last line of defence should the lock be bypassed.
        raise Conflict("another publication took this number; publish again") from exc
    await _emit(
        session,
        "ownership.pool.published",
        publication.id,
        PoolPublished(
            unit_id=unit.id,
            number=number,
            item_count=len(items),
            publication_id=publication.id,
            achievement_ids=[item["achievement_id"] for item in items],
        ),
        now,
    )
    return _publication_read(publication)


async def get_publication(session: AsyncSession, *, unit_id: str, number: int) -> PoolPublicationRead:
    """A published pool exactly as it was published, public (OWN-10)."""
    publication = await repository.get_publication(session, unit_id, number)
    if publication is None:
        raise NotFound()
    return _publication_read(publication)


async def get_separate_ledger(session: AsyncSession, *, actor: Principal, unit_id: str) -> SeparateLedgerRead:
    """The unit's separate ledger: separately managed achievements and state equity (OWN-7, FIN-2)."""
    if await repository.get_unit(session, unit_id) is None:
        raise NotFound()
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=READ_GLOBAL_ROLES)
    items = [
        LedgerItem(
            kind="achievement",
            achievement_id=a.id,
            title=a.title,
            decision=a.separate_decision,
            since=a.separately_managed_at,
        )
        for a in await repository.list_separately_managed(session, unit_id)
    ]
    items += [
        LedgerItem(
            kind="state_equity",
            source=e.source,
            investment_id=e.investment_id,
            transaction_id=e.transaction_id,
            achievement_id=e.achievement_id,
            enterprise=e.enterprise,
            value=e.value,
            since=e.recorded_at,
        )
        for e in await repository.list_state_equity(session, unit_id)
    ]
    return SeparateLedgerRead(unit_id=unit_id, items=items)


# --- consumed events ---------------------------------------------------------------------------


def _instant_of(event: CloudEvent) -> datetime:
    """The event's time, read as UTC when a producer left out the offset (never fail a handler on it)."""
    return event.time if event.time.tzinfo is not None else event.time.replace(tzinfo=UTC)


async def apply_deal_concluded(session: AsyncSession, deal: DealConcluded, event: CloudEvent) -> None:
    """A concluded deal transforms the achievement once (OWN-10); an investment of a separately
    managed achievement adds state equity to the separate ledger (OWN-7). A deal on an achievement
    this service does not know is still kept (concluded_deals), so it is never lost."""
    # Keyed by transaction: the same deal announced twice (even under new event ids) acts once.
    if await repository.get_concluded_deal(session, deal.transaction_id) is not None:
        return
    session.add(
        ConcludedDeal(
            transaction_id=deal.transaction_id,
            achievement_id=deal.achievement_id,
            unit_id=deal.unit_id,
            kind=deal.kind,
            price=deal.price,
            counterparty=deal.counterparty,
            received_at=_instant_of(event),
        )
    )
    achievement = await repository.get_achievement(session, deal.achievement_id, for_update=True)
    if achievement is not None:
        _mark_transformed(achievement, _instant_of(event))
        if achievement.separately_managed and deal.kind == "investment":
            session.add(
                StateEquity(
                    id=new_id(),
                    unit_id=achievement.unit_id,
                    source="deal",
                    transaction_id=deal.transaction_id,
                    achievement_id=achievement.id,
                    enterprise=deal.counterparty,
                    value=deal.price,
                    recorded_at=_instant_of(event),
                )
            )
    await session.flush()


async def apply_horizontal_investment(
    session: AsyncSession, investment: HorizontalInvestmentRecorded, event: CloudEvent
) -> None:
    """State equity formed with horizontal-project surplus funds enters the separate ledger (OWN-7, FIN-2)."""
    if await repository.get_state_equity_for_investment(session, investment.investment_id) is not None:
        return
    # Contract 6: state_equity_value is the unit's stake (technology valuation + cash) when sent.
    value = investment.state_equity_value
    if value is None:
        value = investment.technology_valuation + investment.cash_amount
    session.add(
        StateEquity(
            id=new_id(),
            unit_id=investment.unit_id,
            source="horizontal_investment",
            investment_id=investment.investment_id,
            enterprise=investment.enterprise,
            value=value,
            recorded_at=_instant_of(event),
        )
    )
    await session.flush()
