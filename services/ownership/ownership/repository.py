"""All ownership queries."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ownership.models import (
    Achievement,
    ComplianceRecord,
    ConcludedDeal,
    Empowerment,
    Institution,
    InstitutionEvaluation,
    InstitutionUnit,
    PoolPublication,
    PricingTransaction,
    StateEquity,
    TechnologyManager,
    TechnologyManagerDeal,
    Unit,
)


async def get_unit(session: AsyncSession, unit_id: str, *, for_update: bool = False) -> Unit | None:
    statement = select(Unit).where(Unit.id == unit_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_units(session: AsyncSession, *, after: str | None, limit: int) -> list[Unit]:
    statement = select(Unit).order_by(Unit.id).limit(limit + 1)
    if after is not None:
        statement = statement.where(Unit.id > after)
    return list((await session.execute(statement)).scalars())


async def list_units_by_id(session: AsyncSession, unit_ids: list[str]) -> list[Unit]:
    if not unit_ids:
        return []
    return list((await session.execute(select(Unit).where(Unit.id.in_(unit_ids)))).scalars())


async def get_achievement(session: AsyncSession, achievement_id: str, *, for_update: bool = False) -> Achievement | None:
    statement = select(Achievement).where(Achievement.id == achievement_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


def pool_member(cutoff: date) -> ColumnElement[bool]:
    """SQL form of domain.pool.is_pool_member (OWN-10, OWN-12) for a given cutoff day."""
    return and_(
        Achievement.transformed.is_(False),
        Achievement.national_interest.is_(False),
        Achievement.pool_excluded.is_(False),
        Achievement.first_granted_on.is_not(None),
        Achievement.first_granted_on <= cutoff,
    )


async def list_achievements(
    session: AsyncSession,
    *,
    unit_id: str | None,
    in_pool: bool | None,
    transformed: bool | None,
    cutoff: date,
    after: str | None,
    limit: int,
) -> list[Achievement]:
    statement = select(Achievement).order_by(Achievement.id).limit(limit + 1)
    if unit_id is not None:
        statement = statement.where(Achievement.unit_id == unit_id)
    if in_pool is not None:
        statement = statement.where(pool_member(cutoff) if in_pool else not_(pool_member(cutoff)))
    if transformed is not None:
        statement = statement.where(Achievement.transformed.is_(transformed))
    if after is not None:
        statement = statement.where(Achievement.id > after)
    return list((await session.execute(statement)).scalars())


async def list_pool(session: AsyncSession, *, unit_id: str, cutoff: date, after: str | None, limit: int | None) -> list[Achievement]:
    statement = select(Achievement).where(Achievement.unit_id == unit_id, pool_member(cutoff)).order_by(Achievement.id)
    if after is not None:
        statement = statement.where(Achievement.id > after)
    if limit is not None:
        statement = statement.limit(limit + 1)
    return list((await session.execute(statement)).scalars())


async def list_compliance_records(session: AsyncSession, achievement_ids: list[str]) -> list[ComplianceRecord]:
    if not achievement_ids:
        return []
    statement = (
        select(ComplianceRecord)
        .where(ComplianceRecord.achievement_id.in_(achievement_ids))
        .order_by(ComplianceRecord.created_at, ComplianceRecord.id)
    )
    return list((await session.execute(statement)).scalars())


async def get_empowerment(session: AsyncSession, empowerment_id: str, *, for_update: bool = False) -> Empowerment | None:
    statement = select(Empowerment).where(Empowerment.id == empowerment_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_empowerments(session: AsyncSession, *, achievement_id: str, after: str | None, limit: int) -> list[Empowerment]:
    statement = (
        select(Empowerment).where(Empowerment.achievement_id == achievement_id).order_by(Empowerment.id).limit(limit + 1)
    )
    if after is not None:
        statement = statement.where(Empowerment.id > after)
    return list((await session.execute(statement)).scalars())


async def list_achievement_empowerments(session: AsyncSession, achievement_id: str) -> list[Empowerment]:
    """Every empowerment of an achievement in grant order, refreshed (the rights record reads them under its lock)."""
    statement = (
        select(Empowerment)
        .where(Empowerment.achievement_id == achievement_id)
        .order_by(Empowerment.created_at, Empowerment.id)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(statement)).scalars())


async def list_compliance_kinds(session: AsyncSession, achievement_id: str) -> frozenset[str]:
    statement = select(ComplianceRecord.kind).where(ComplianceRecord.achievement_id == achievement_id).distinct()
    return frozenset((await session.execute(statement)).scalars())


async def list_open_transactions(session: AsyncSession, achievement_id: str) -> list[PricingTransaction]:
    """The achievement's transactions that pricing has open, in the order they opened (OWN-16)."""
    statement = (
        select(PricingTransaction)
        .where(PricingTransaction.achievement_id == achievement_id, PricingTransaction.state == "open")
        .order_by(PricingTransaction.opened_on, PricingTransaction.transaction_id)
    )
    return list((await session.execute(statement)).scalars())


async def get_pricing_transaction(session: AsyncSession, transaction_id: str) -> PricingTransaction | None:
    statement = select(PricingTransaction).where(PricingTransaction.transaction_id == transaction_id).with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_ownership_empowerments(session: AsyncSession, achievement_id: str) -> list[Empowerment]:
    """Ownership empowerments of an achievement, newest first, locked for the equity transfer (OWN-11)."""
    statement = (
        select(Empowerment)
        .where(Empowerment.achievement_id == achievement_id, Empowerment.type == "ownership")
        .order_by(Empowerment.created_at.desc(), Empowerment.id.desc())
        .with_for_update()
    )
    return list((await session.execute(statement)).scalars())


async def list_due_patent_changes(session: AsyncSession, *, today: date, limit: int = 200) -> list[Empowerment]:
    """Pending patent changes past due (OWN-6), claimed so two sweeper replicas never take the same row."""
    statement = (
        select(Empowerment)
        .where(Empowerment.patent_change_state == "pending", Empowerment.patent_change_due_on < today)
        .order_by(Empowerment.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())


async def list_separately_managed(session: AsyncSession, unit_id: str) -> list[Achievement]:
    statement = (
        select(Achievement)
        .where(Achievement.unit_id == unit_id, Achievement.separately_managed.is_(True))
        .order_by(Achievement.separately_managed_at, Achievement.id)
    )
    return list((await session.execute(statement)).scalars())


async def list_state_equity(session: AsyncSession, unit_id: str) -> list[StateEquity]:
    statement = select(StateEquity).where(StateEquity.unit_id == unit_id).order_by(StateEquity.recorded_at, StateEquity.id)
    return list((await session.execute(statement)).scalars())


async def get_state_equity_for_investment(session: AsyncSession, investment_id: str) -> StateEquity | None:
    statement = select(StateEquity).where(StateEquity.investment_id == investment_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_concluded_deal(session: AsyncSession, transaction_id: str) -> ConcludedDeal | None:
    statement = select(ConcludedDeal).where(ConcludedDeal.transaction_id == transaction_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def next_publication_number(session: AsyncSession, unit_id: str) -> int:
    statement = select(func.coalesce(func.max(PoolPublication.number), 0)).where(PoolPublication.unit_id == unit_id)
    return int((await session.execute(statement)).scalar_one()) + 1


async def get_publication(session: AsyncSession, unit_id: str, number: int) -> PoolPublication | None:
    statement = select(PoolPublication).where(PoolPublication.unit_id == unit_id, PoolPublication.number == number)
    return (await session.execute(statement)).scalar_one_or_none()




async def get_institution(session: AsyncSession, institution_id: str, *, for_update: bool = False) -> Institution | None:
    statement = select(Institution).where(Institution.id == institution_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_institutions(
    session: AsyncSession, *, kind: str | None, unit_id: str | None, after: str | None, limit: int
) -> list[Institution]:
    statement = select(Institution).order_by(Institution.id).limit(limit + 1)
    if kind is not None:
        statement = statement.where(Institution.kind == kind)
    if unit_id is not None:
        served = select(InstitutionUnit.institution_id).where(InstitutionUnit.unit_id == unit_id)
        statement = statement.where(Institution.id.in_(served))
    if after is not None:
        statement = statement.where(Institution.id > after)
    return list((await session.execute(statement)).scalars())


async def list_evaluations(session: AsyncSession, institution_ids: list[str]) -> list[InstitutionEvaluation]:
    if not institution_ids:
        return []
    statement = (
        select(InstitutionEvaluation)
        .where(InstitutionEvaluation.institution_id.in_(institution_ids))
        .order_by(InstitutionEvaluation.year, InstitutionEvaluation.id)
    )
    return list((await session.execute(statement)).scalars())


async def get_technology_manager(session: AsyncSession, manager_id: str) -> TechnologyManager | None:
    return (await session.execute(select(TechnologyManager).where(TechnologyManager.id == manager_id))).scalar_one_or_none()


async def count_technology_manager_deals(session: AsyncSession, manager_id: str) -> tuple[int, Decimal]:
    """ORG-2: how many concluded deals name the manager, and their total amount (summed exactly, in Python)."""
    prices = select(TechnologyManagerDeal.price).where(TechnologyManagerDeal.technology_manager_id == manager_id)
    amounts = list((await session.execute(prices)).scalars())
    return len(amounts), sum(amounts, Decimal("0.00"))
