"""Institution use cases: transfer offices, science parks, incubators and their annual evaluations (ORG-1)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import InstitutionEvaluated
from ownership import repository
from ownership.domain.institutions import check_evaluation_year_free, check_institution
from ownership.models import Institution, InstitutionEvaluation, InstitutionUnit
from ownership.schemas import EvaluationCreate, EvaluationRead, InstitutionCreate, InstitutionRead
from ownership.service.common import emit_event
from servicekit.auth import Principal, require_role
from servicekit.errors import Forbidden, InvalidState, NotFound
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of


def evaluation_read(evaluation: InstitutionEvaluation) -> EvaluationRead:
    """An annual evaluation as the API shows it."""
    return EvaluationRead(
        id=evaluation.id, institution_id=evaluation.institution_id, year=evaluation.year,
        rating=evaluation.rating, evaluated_by=evaluation.evaluated_by, created_at=evaluation.created_at,
    )


def institution_read(institution: Institution, evaluations: list[InstitutionEvaluation]) -> InstitutionRead:
    """An institution with its evaluations, by year."""
    return InstitutionRead(
        id=institution.id, kind=institution.kind, name=institution.name, unit_ids=institution.unit_ids,
        level=institution.level, evaluations=[evaluation_read(e) for e in evaluations],
        created_at=institution.created_at, version=institution.version,
    )


def _registered_units(actor: Principal, data: InstitutionCreate) -> list[str]:
    """platform_admin registers any; a unit_admin only its own unit's transfer office (API.md §3), whose
    `unit_ids` default to its unit."""
    if actor.has("platform_admin"):
        return data.unit_ids
    if actor.has("unit_admin") and data.kind == "transfer_office" and actor.unit_id is not None:
        if data.unit_ids not in ([], [actor.unit_id]):
            raise NotFound()  # another unit's: its existence is not disclosed
        return [actor.unit_id]
    raise Forbidden("only platform_admin registers institutions (a unit_admin: its own transfer office)")


async def register_institution(
    session: AsyncSession, *, actor: Principal, data: InstitutionCreate, now: datetime
) -> InstitutionRead:
    """Register a transfer office, science park (one or several units) or incubator with its level (ORG-1)."""
    unit_ids = _registered_units(actor, data)
    check_institution(data.kind, unit_ids, data.level)  # ORG-1
    if len(await repository.list_units_by_id(session, unit_ids)) != len(unit_ids):
        raise NotFound("no such unit")
    institution = Institution(
        id=new_id(), kind=data.kind, name=data.name, unit_ids=unit_ids, level=data.level, created_at=now, version=1
    )
    session.add(institution)
    session.add_all(InstitutionUnit(institution_id=institution.id, unit_id=unit_id) for unit_id in unit_ids)
    await session.flush()
    return institution_read(institution, [])


async def get_institution(session: AsyncSession, *, institution_id: str) -> InstitutionRead:
    """One institution with its evaluations (public)."""
    institution = await repository.get_institution(session, institution_id)
    if institution is None:
        raise NotFound()
    return institution_read(institution, await repository.list_evaluations(session, [institution.id]))


async def list_institutions(
    session: AsyncSession, *, kind: str | None, unit_id: str | None, limit: int, cursor: str | None
) -> Page[InstitutionRead]:
    """Institutions by kind and served unit (public)."""
    key = decode_cursor(cursor)
    rows = await repository.list_institutions(
        session, kind=kind, unit_id=unit_id, after=str(key[0]) if key else None, limit=limit
    )
    evaluations = await repository.list_evaluations(session, [row.id for row in rows[:limit]])
    by_institution: dict[str, list[InstitutionEvaluation]] = {}
    for evaluation in evaluations:
        by_institution.setdefault(evaluation.institution_id, []).append(evaluation)
    return page_of(
        rows, limit, key=lambda row: [row.id], convert=lambda row: institution_read(row, by_institution.get(row.id, []))
    )


async def evaluate_institution(
    session: AsyncSession, *, actor: Principal, institution_id: str, data: EvaluationCreate, now: datetime
) -> EvaluationRead:
    """Record the institution's evaluation for a year, one per year (ORG-1); FIN-8 awards follow its rating."""
    require_role(actor, "platform_admin")
    institution = await repository.get_institution(session, institution_id, for_update=True)
    if institution is None:
        raise NotFound()
    evaluated = await repository.list_evaluations(session, [institution.id])
    check_evaluation_year_free(data.year, {e.year for e in evaluated})  # ORG-1
    evaluation = InstitutionEvaluation(
        id=new_id(), institution_id=institution.id, year=data.year, rating=data.rating,
        evaluated_by=data.evaluated_by, created_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(evaluation)
    except IntegrityError as exc:  # the unique (institution, year) holds should the lock be bypassed
        raise InvalidState(f"the institution was already evaluated for {data.year}", rule="ORG-1") from exc
    event = InstitutionEvaluated(
        institution_id=institution.id, evaluation_id=evaluation.id, kind=institution.kind, name=institution.name,
        unit_ids=institution.unit_ids, level=institution.level, year=data.year, rating=data.rating,
        evaluated_by=data.evaluated_by,
    )
    await emit_event(session, "ownership.institution.evaluated", institution.id, event, now)
    return evaluation_read(evaluation)
