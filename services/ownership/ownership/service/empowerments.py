"""Empowerment use cases: grant, read, patent change, extension, conversion, overdue sweep (OWN-1..6)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import PatentChangeOverdue, PatentChangeRegistered
from ownership import repository
from ownership.domain import empowerment as emp_rules
from ownership.models import Empowerment
from ownership.schemas import (
    Consent,
    ConversionCreate,
    EmpowermentCreate,
    EmpowermentRead,
    ExtensionCreate,
    PatentChangeCreate,
    PatentChangeRead,
)
from ownership.service.common import (
    emit_decided,
    emit_event,
    ensure_reader,
    ensure_writer,
    iso,
    load_aggregate,
    load_row,
    save_aggregate,
    save_holding,
)
from servicekit.auth import Principal
from servicekit.clock import shanghai_day
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of


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


async def _load_empowerment(session: AsyncSession, actor: Principal, empowerment_id: str, *, write: bool) -> Empowerment:
    empowerment = await repository.get_empowerment(session, empowerment_id, for_update=write)
    if empowerment is None:
        raise NotFound()
    (ensure_writer if write else ensure_reader)(actor, empowerment.unit_id)
    return empowerment


def _consented(consent: Consent | None) -> bool:
    return consent is not None and not emp_rules.is_blank(consent.by) and consent.on is not None


async def grant_empowerment(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: EmpowermentCreate, now: datetime
) -> EmpowermentRead:
    """Grant the team ownership or a long-term usage right on the unit's decision (OWN-1, 2, 5, 6, 12–16)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    unit = await repository.get_unit(session, row.unit_id)
    assert unit is not None  # achievements reference their unit by foreign key
    recorded_on = shanghai_day(now)
    due_on = emp_rules.patent_change_due_on(recorded_on, unit.patent_change_days)  # OWN-6
    decision = data.decision.model_dump(mode="json") if data.decision else None
    decided = achievement.grant_empowerment(
        empowerment_id=new_id(), type=data.type, team_share=data.team_share, unit_share=data.unit_share,
        start_on=data.start_on, end_on=data.end_on, overseas=data.overseas, decision=decision,
        patent_change_due_on=due_on, today=recorded_on,
    )
    holding = decided.achievement.holdings[-1]
    assert decision is not None  # OWN-5 refused a missing decision
    empowerment = Empowerment(
        id=holding.empowerment_id, achievement_id=row.id, unit_id=row.unit_id, type=holding.type,
        team_share=holding.team_share, unit_share=holding.unit_share, start_on=holding.start_on,
        end_on=holding.end_on, overseas=data.overseas, decision=decision, recorded_on=recorded_on,
        patent_change_state=emp_rules.PatentChangeState.PENDING, patent_change_due_on=due_on,
        extensions=[], created_at=now, version=1,
    )
    session.add(empowerment)
    save_aggregate(row, decided.achievement)
    await session.flush()
    await emit_decided(session, decided, now)
    return empowerment_read(empowerment, recorded_on)


async def get_empowerment(session: AsyncSession, *, actor: Principal, empowerment_id: str, now: datetime) -> EmpowermentRead:
    """Read one empowerment, with its term and patent-change state as of now (OWN-6)."""
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=False)
    return empowerment_read(empowerment, shanghai_day(now))


async def list_empowerments(
    session: AsyncSession, *, actor: Principal, achievement_id: str, limit: int, cursor: str | None, now: datetime
) -> Page[EmpowermentRead]:
    """The empowerments of one achievement."""
    row = await load_row(session, actor, achievement_id, write=False)
    key = decode_cursor(cursor)
    rows = await repository.list_empowerments(session, achievement_id=row.id, after=str(key[0]) if key else None, limit=limit)
    today = shanghai_day(now)
    return page_of(rows, limit, key=lambda e: [e.id], convert=lambda e: empowerment_read(e, today))


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
    event = PatentChangeRegistered(
        empowerment_id=empowerment.id, achievement_id=empowerment.achievement_id, unit_id=empowerment.unit_id,
        registered_on=data.registered_on.isoformat(), reference=data.reference,
    )
    await emit_event(session, "ownership.patent_change.registered", empowerment.id, event, now)
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
    """Extend a usage right before or after its end, on the unit's decision (OWN-3, OWN-5)."""
    # The achievement's lock first, as every change of its rights takes it; loading it refreshes the empowerment.
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=False)
    row, achievement = await load_aggregate(session, actor, empowerment.achievement_id, write=True)
    check_version(empowerment.version, expected_version)
    decision = data.decision.model_dump(mode="json") if data.decision else None
    previous_end_on = empowerment.end_on
    decided = achievement.extend_usage_right(
        empowerment_id=empowerment.id, new_end_on=data.new_end_on, decision=decision, today=shanghai_day(now)
    )  # OWN-3, OWN-5
    save_holding(empowerment, decided.achievement.holding(empowerment.id))
    empowerment.extensions = [
        *empowerment.extensions,
        {"previous_end_on": iso(previous_end_on), "new_end_on": data.new_end_on.isoformat(), "decision": decision,
         "at": now.isoformat()},
    ]
    save_aggregate(row, decided.achievement)
    await session.flush()
    await emit_decided(session, decided, now)
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
    """Convert a usage right to co-ownership during its term with both consents (OWN-4, OWN-1)."""
    # The achievement's lock first, as every change of its rights takes it; loading it refreshes the empowerment.
    empowerment = await _load_empowerment(session, actor, empowerment_id, write=False)
    row, achievement = await load_aggregate(session, actor, empowerment.achievement_id, write=True)
    check_version(empowerment.version, expected_version)
    today = shanghai_day(now)
    previous_term = {"start_on": iso(empowerment.start_on), "end_on": iso(empowerment.end_on)}
    decided = achievement.convert_usage_right(
        empowerment_id=empowerment.id, team_share=data.team_share, unit_share=data.unit_share,
        unit_consent=_consented(data.unit_consent), team_consent=_consented(data.team_consent),
        overseas=empowerment.overseas, today=today,
    )  # OWN-4, OWN-1, OWN-12..15
    save_holding(empowerment, decided.achievement.holding(empowerment.id))
    empowerment.conversion = {
        "previous_term": previous_term,
        "unit_consent": data.unit_consent.model_dump(mode="json") if data.unit_consent else None,
        "team_consent": data.team_consent.model_dump(mode="json") if data.team_consent else None,
        "at": now.isoformat(),
    }
    save_aggregate(row, decided.achievement)
    await session.flush()
    await emit_decided(session, decided, now)
    return empowerment_read(empowerment, today)


async def sweep_overdue_patent_changes(session: AsyncSession, now: datetime) -> None:
    """Sweeper: mark pending patent changes past their due day as overdue and announce it (OWN-6)."""
    today = shanghai_day(now)
    for empowerment in await repository.list_due_patent_changes(session, today=today):
        # Re-check under the row lock: another replica or a registration may have won.
        if emp_rules.patent_change_state(empowerment.patent_change_state, empowerment.patent_change_due_on, today) != "overdue":
            continue
        empowerment.patent_change_state = emp_rules.PatentChangeState.OVERDUE
        event = PatentChangeOverdue(
            empowerment_id=empowerment.id, achievement_id=empowerment.achievement_id, unit_id=empowerment.unit_id,
            due_on=empowerment.patent_change_due_on.isoformat(),
        )
        await emit_event(session, "ownership.patent_change.overdue", empowerment.id, event, now)
    await session.flush()

