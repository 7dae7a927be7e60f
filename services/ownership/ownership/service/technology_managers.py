"""Technology-manager use cases: registration and reading with the deals that name them (ORG-2, PRC-12)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import TechnologyManagerRegistered
from ownership import repository
from ownership.domain.institutions import check_technology_manager
from ownership.models import TechnologyManager
from ownership.schemas import DealCount, TechnologyManagerCreate, TechnologyManagerRead
from ownership.service.common import READ_GLOBAL_ROLES, emit_event
from servicekit.auth import Principal
from servicekit.errors import Forbidden, NotFound
from servicekit.outbox import new_id


async def _units_of(session: AsyncSession, unit_id: str | None, institution_id: str | None) -> set[str]:
    """The units a manager belongs to: their own unit, or the units their institution serves."""
    units = {unit_id} if unit_id else set()
    if institution_id is not None:
        institution = await repository.get_institution(session, institution_id)
        if institution is None:
            raise NotFound("no such institution")
        units |= set(institution.unit_ids)
    return units


async def register_technology_manager(
    session: AsyncSession, *, actor: Principal, data: TechnologyManagerCreate, now: datetime
) -> TechnologyManagerRead:
    """Register a technology manager with certificate and unit or institution (ORG-2): platform_admin, or a
    unit_admin for its own unit."""
    if not actor.has("platform_admin", "unit_admin"):
        raise Forbidden("only platform_admin or a unit_admin registers technology managers")
    check_technology_manager(data.unit_id, data.institution_id)  # ORG-2
    if data.unit_id is not None and await repository.get_unit(session, data.unit_id) is None:
        raise NotFound("no such unit")
    units = await _units_of(session, data.unit_id, data.institution_id)
    if not actor.has("platform_admin") and actor.unit_id not in units:
        raise NotFound()  # another unit's: its existence is not disclosed
    manager = TechnologyManager(
        id=new_id(), person_id=data.person_id, name=data.name, certificate=data.certificate.model_dump(),
        unit_id=data.unit_id, institution_id=data.institution_id, created_at=now, version=1,
    )
    session.add(manager)
    await session.flush()
    event = TechnologyManagerRegistered(
        technology_manager_id=manager.id, person_id=manager.person_id, name=manager.name, unit_id=manager.unit_id,
        institution_id=manager.institution_id, certificate=manager.certificate,
    )
    await emit_event(session, "ownership.technology_manager.registered", manager.id, event, now)
    return await _read(session, manager)


async def get_technology_manager(session: AsyncSession, *, actor: Principal, manager_id: str) -> TechnologyManagerRead:
    """A technology manager with the count and amount of the deals naming them (ORG-2). Readers (API.md §6b):
    the person themself, the unit_admin of their unit, department, platform_admin, and pricing (PRC-12)."""
    manager = await repository.get_technology_manager(session, manager_id)
    if manager is None:
        raise NotFound()
    if not (actor.has(*READ_GLOBAL_ROLES, "service") or actor.sub == manager.person_id):
        units = await _units_of(session, manager.unit_id, manager.institution_id)
        if actor.has("unit_admin", "researcher") and actor.unit_id not in units:
            raise NotFound()  # another unit's staff: existence is not disclosed
        if not actor.has("unit_admin"):
            raise Forbidden("your role may not read technology managers")
    return await _read(session, manager)


async def _read(session: AsyncSession, manager: TechnologyManager) -> TechnologyManagerRead:
    count, amount = await repository.count_technology_manager_deals(session, manager.id)
    return TechnologyManagerRead(
        id=manager.id, person_id=manager.person_id, name=manager.name, certificate=manager.certificate,
        unit_id=manager.unit_id, institution_id=manager.institution_id, deals=DealCount(count=count, amount=amount),
        created_at=manager.created_at, version=manager.version,
    )
