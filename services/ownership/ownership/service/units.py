"""Unit use cases: registration and policy (SCO-1; the periods and sizes left to the unit)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy
from contracts.events import UnitPolicyChanged, UnitRegistered
from ownership import repository
from ownership.domain.units import check_min_meeting_attendees, check_unit_type
from ownership.models import Unit
from ownership.schemas import UnitCreate, UnitPolicyInput, UnitRead
from ownership.service.common import emit_event
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id


def policy_of(unit: Unit) -> UnitPolicy:
    """The unit's policy settings."""
    return UnitPolicy(
        notice_days=unit.notice_days,
        review_request_days=unit.review_request_days,
        patent_change_days=unit.patent_change_days,
        min_meeting_attendees=unit.min_meeting_attendees,
    )


def unit_read(unit: Unit) -> UnitRead:
    """A unit as the API shows it."""
    return UnitRead(
        id=unit.id, name=unit.name, type=unit.type, central_in_liaoning=unit.central_in_liaoning,
        policy=policy_of(unit), created_at=unit.created_at, version=unit.version,
    )


async def register_unit(session: AsyncSession, *, actor: Principal, data: UnitCreate, now: datetime) -> UnitRead:
    """Register a unit (platform_admin) with its policy, defaults where not given (SCO-1, EXE-5)."""
    require_role(actor, "platform_admin")
    check_unit_type(data.type)  # SCO-1
    defaults = UnitPolicy()
    given = data.policy or UnitPolicyInput()
    check_min_meeting_attendees(given.min_meeting_attendees)  # EXE-5
    unit = Unit(
        id=new_id(), name=data.name, type=data.type, central_in_liaoning=data.central_in_liaoning,
        notice_days=given.notice_days or defaults.notice_days,
        review_request_days=given.review_request_days or defaults.review_request_days,
        patent_change_days=given.patent_change_days or defaults.patent_change_days,
        min_meeting_attendees=given.min_meeting_attendees or defaults.min_meeting_attendees,
        created_at=now, version=1,
    )
    session.add(unit)
    await session.flush()
    event = UnitRegistered(
        unit_id=unit.id, name=unit.name, type=unit.type, central_in_liaoning=unit.central_in_liaoning,
        policy=policy_of(unit), version=unit.version,
    )
    await emit_event(session, "ownership.unit.registered", unit.id, event, now)
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
    """The unit's administrator changes its periods and sizes; the other services learn of it by event."""
    unit = await repository.get_unit(session, unit_id, for_update=True)
    if unit is None:
        raise NotFound()
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=("platform_admin",))
    check_version(unit.version, expected_version)
    check_min_meeting_attendees(changes.min_meeting_attendees)  # EXE-5
    for name, value in changes.model_dump(exclude_none=True).items():
        setattr(unit, name, value)
    await session.flush()
    event = UnitPolicyChanged(unit_id=unit.id, policy=policy_of(unit), version=unit.version)
    await emit_event(session, "ownership.unit.policy_changed", unit.id, event, now)
    return unit_read(unit)
