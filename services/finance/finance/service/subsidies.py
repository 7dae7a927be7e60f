"""Reward-type post-subsidies (FIN-8): decided on finance's own copies of the challenge and the rating."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import SubsidyGranted
from finance import repository
from finance.domain.subsidies import (
    Evaluation,
    check_challenge_award,
    check_institution_award,
)
from finance.models import Subsidy
from finance.schemas import SubsidyCreate, SubsidyRead
from finance.service.common import UNIT_READERS, after, emit_event
from servicekit.auth import Principal, require_role
from servicekit.errors import InvalidState, NotFound
from servicekit.outbox import new_id
from servicekit.pagination import Page, page_of


def subsidy_read(subsidy: Subsidy) -> SubsidyRead:
    """The API shape of a post-subsidy."""
    return SubsidyRead.model_validate(subsidy, from_attributes=True)


async def _check(session: AsyncSession, data: SubsidyCreate) -> None:
    """FIN-8: is this award allowed at all (422), and is it not a second one (409)?"""
    recipient = data.recipient.model_dump()
    if data.kind == "challenge_award":
        landed = await repository.get_landed_challenge(session, data.basis_reference)
        check_challenge_award(amount=data.amount, recipient=recipient, landed=landed.details if landed else None)
        if await repository.get_subsidy_for_challenge(session, data.basis_reference) is not None:
            raise InvalidState("this challenge has already received its award", rule="FIN-8")
        return
    stored = None
    if data.institution_id is not None and data.evaluation_year is not None:
        stored = await repository.get_evaluation(session, data.institution_id, data.evaluation_year)
    evaluation = Evaluation(kind=stored.kind, level=stored.level, rating=stored.rating) if stored else None
    check_institution_award(
        kind=data.kind, amount=data.amount, institution_id=data.institution_id, year=data.evaluation_year, evaluation=evaluation
    )
    if await repository.get_subsidy_for_institution(session, data.institution_id or "", data.evaluation_year or 0) is not None:
        raise InvalidState(f"the institution has already received its {data.evaluation_year} award", rule="FIN-8")


async def grant_subsidy(session: AsyncSession, *, actor: Principal, data: SubsidyCreate, now: datetime) -> SubsidyRead:
    """FIN-8: a reward-type post-subsidy for a landed challenge's enterprise, or an excellent science park or incubator."""
    require_role(actor, "platform_admin")
    await _check(session, data)
    challenge = data.kind == "challenge_award"
    subsidy = Subsidy(
        id=new_id(),
        kind=data.kind,
        recipient=data.recipient.model_dump(),
        amount=data.amount,
        basis_reference=data.basis_reference,
        challenge_id=data.basis_reference if challenge else None,
        institution_id=None if challenge else data.institution_id,
        evaluation_year=None if challenge else data.evaluation_year,
        granted_by=actor.sub,
        granted_at=now,
        version=1,
    )
    try:
        # The unique challenge, and institution and year, decide between two concurrent grants.
        async with session.begin_nested():
            session.add(subsidy)
            await session.flush()
    except IntegrityError as exc:
        raise InvalidState("this award has already been granted", rule="FIN-8") from exc
    await emit_event(
        session,
        "finance.subsidy.granted",
        subsidy.id,
        SubsidyGranted(
            subsidy_id=subsidy.id, kind=subsidy.kind, amount=subsidy.amount, basis_reference=subsidy.basis_reference,
            recipient=subsidy.recipient, institution_id=subsidy.institution_id, evaluation_year=subsidy.evaluation_year,
        ),
        now,
    )
    return subsidy_read(subsidy)


async def list_subsidies(
    session: AsyncSession, *, actor: Principal, kind: str | None, limit: int, cursor: str | None
) -> Page[SubsidyRead]:
    """FIN-8: every post-subsidy granted (platform_admin, department)."""
    require_role(actor, *UNIT_READERS)
    rows = await repository.list_subsidies(session, kind=kind, after=after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=subsidy_read)


async def get_subsidy(session: AsyncSession, *, actor: Principal, subsidy_id: str) -> SubsidyRead:
    """One post-subsidy (platform_admin, department)."""
    require_role(actor, *UNIT_READERS)
    subsidy = await repository.get_subsidy(session, subsidy_id)
    if subsidy is None:
        raise NotFound()
    return subsidy_read(subsidy)
