"""All finance queries."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import (
    Claim,
    ConcludedDeal,
    FinancialProduct,
    Fund,
    FundLedgerEntry,
    HorizontalInvestment,
    Income,
    InstitutionEvaluation,
    InvestFirstProject,
    KnownAchievement,
    LandedChallenge,
    PoolLedgerEntry,
    Receivable,
    Reward,
    RewardRecipient,
    RiskCompensationPool,
    Subsidy,
    Uptake,
)

T = TypeVar("T")


async def _one(session: AsyncSession, model: type[T], key: Any, *, for_update: bool = False) -> T | None:
    statement = select(model).where(model.id == key)  # type: ignore[attr-defined]
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def _page(session: AsyncSession, model: type[T], *filters: Any, after: str | None, limit: int) -> list[T]:
    """`limit + 1` rows ordered by id, after the cursor's id."""
    statement = select(model).where(*filters).order_by(model.id).limit(limit + 1)  # type: ignore[attr-defined]
    if after is not None:
        statement = statement.where(model.id > after)  # type: ignore[attr-defined]
    return list((await session.execute(statement)).scalars())


async def get_income(session: AsyncSession, income_id: str) -> Income | None:
    return await _one(session, Income, income_id)


async def get_income_by_source(session: AsyncSession, source: str, source_id: str) -> Income | None:
    statement = select(Income).where(Income.source == source, Income.source_id == source_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_incomes(session: AsyncSession, *, unit_id: str | None, after: str | None, limit: int) -> list[Income]:
    filters = [Income.unit_id == unit_id] if unit_id is not None else []
    return await _page(session, Income, *filters, after=after, limit=limit)


async def get_reward(session: AsyncSession, reward_id: str) -> Reward | None:
    return await _one(session, Reward, reward_id)


async def list_recipients(session: AsyncSession, reward_id: str) -> list[RewardRecipient]:
    statement = select(RewardRecipient).where(RewardRecipient.reward_id == reward_id).order_by(RewardRecipient.position)
    return list((await session.execute(statement)).scalars())


async def get_fund(session: AsyncSession, fund_id: str, *, for_update: bool = False) -> Fund | None:
    return await _one(session, Fund, fund_id, for_update=for_update)


async def next_ledger_seq(session: AsyncSession, fund_id: str) -> int:
    """The next number in a fund's ledger (callers hold the fund's row lock)."""
    current = (
        await session.execute(select(func.max(FundLedgerEntry.seq)).where(FundLedgerEntry.fund_id == fund_id))
    ).scalar_one()
    return (current or 0) + 1


async def list_ledger(session: AsyncSession, fund_id: str) -> Sequence[FundLedgerEntry]:
    statement = select(FundLedgerEntry).where(FundLedgerEntry.fund_id == fund_id).order_by(FundLedgerEntry.seq)
    return list((await session.execute(statement)).scalars())


async def get_project(session: AsyncSession, project_id: str, *, for_update: bool = False) -> InvestFirstProject | None:
    return await _one(session, InvestFirstProject, project_id, for_update=for_update)


async def get_horizontal_investment(session: AsyncSession, investment_id: str) -> HorizontalInvestment | None:
    return await _one(session, HorizontalInvestment, investment_id)


async def get_landed_challenge(session: AsyncSession, challenge_id: str) -> LandedChallenge | None:
    statement = select(LandedChallenge).where(LandedChallenge.challenge_id == challenge_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_known_achievement(session: AsyncSession, achievement_id: str, *, for_update: bool = False) -> KnownAchievement | None:
    statement = select(KnownAchievement).where(KnownAchievement.achievement_id == achievement_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def get_concluded_deal(session: AsyncSession, transaction_id: str) -> ConcludedDeal | None:
    statement = select(ConcludedDeal).where(ConcludedDeal.transaction_id == transaction_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_evaluation(session: AsyncSession, institution_id: str, year: int) -> InstitutionEvaluation | None:
    statement = select(InstitutionEvaluation).where(
        InstitutionEvaluation.institution_id == institution_id, InstitutionEvaluation.year == year
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_subsidy_for_challenge(session: AsyncSession, challenge_id: str) -> Subsidy | None:
    return (await session.execute(select(Subsidy).where(Subsidy.challenge_id == challenge_id))).scalar_one_or_none()


async def get_subsidy_for_institution(session: AsyncSession, institution_id: str, year: int) -> Subsidy | None:
    statement = select(Subsidy).where(Subsidy.institution_id == institution_id, Subsidy.evaluation_year == year)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_subsidy(session: AsyncSession, subsidy_id: str) -> Subsidy | None:
    return await _one(session, Subsidy, subsidy_id)


async def list_subsidies(session: AsyncSession, *, kind: str | None, after: str | None, limit: int) -> list[Subsidy]:
    filters = [Subsidy.kind == kind] if kind is not None else []
    return await _page(session, Subsidy, *filters, after=after, limit=limit)


async def get_receivable(session: AsyncSession, receivable_id: str, *, for_update: bool = False) -> Receivable | None:
    return await _one(session, Receivable, receivable_id, for_update=for_update)


async def get_receivable_by_transfer(session: AsyncSession, equity_transfer_id: str) -> Receivable | None:
    statement = select(Receivable).where(Receivable.equity_transfer_id == equity_transfer_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_receivable_by_transaction(session: AsyncSession, transaction_id: str) -> Receivable | None:
    statement = select(Receivable).where(Receivable.transaction_id == transaction_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def claim_past_due_receivables(session: AsyncSession, *, today: date, limit: int = 200) -> list[Receivable]:
    """Pay-later receivables still due after their due date (FIN-10), claimed so two sweeper replicas never take one row."""
    statement = (
        select(Receivable)
        .where(Receivable.state == "due", Receivable.due_on < today, Receivable.kind == "pay_later")
        .order_by(Receivable.due_on, Receivable.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())


async def list_receivables(session: AsyncSession, *, unit_id: str | None, after: str | None, limit: int) -> list[Receivable]:
    filters = [Receivable.unit_id == unit_id] if unit_id is not None else []
    return await _page(session, Receivable, *filters, after=after, limit=limit)


async def get_product(session: AsyncSession, product_id: str) -> FinancialProduct | None:
    return await _one(session, FinancialProduct, product_id)


async def list_products(session: AsyncSession, *, kind: str | None, after: str | None, limit: int) -> list[FinancialProduct]:
    filters = [FinancialProduct.kind == kind] if kind is not None else []
    return await _page(session, FinancialProduct, *filters, after=after, limit=limit)


async def get_uptake(session: AsyncSession, uptake_id: str) -> Uptake | None:
    return await _one(session, Uptake, uptake_id)


async def get_pool(session: AsyncSession, pool_id: str, *, for_update: bool = False) -> RiskCompensationPool | None:
    return await _one(session, RiskCompensationPool, pool_id, for_update=for_update)


async def next_pool_ledger_seq(session: AsyncSession, pool_id: str) -> int:
    """The next number in a pool's ledger (callers hold the pool's row lock)."""
    current = (await session.execute(select(func.max(PoolLedgerEntry.seq)).where(PoolLedgerEntry.pool_id == pool_id))).scalar_one()
    return (current or 0) + 1


async def get_claim_for_uptake(session: AsyncSession, uptake_id: str) -> Claim | None:
    return (await session.execute(select(Claim).where(Claim.uptake_id == uptake_id))).scalar_one_or_none()
