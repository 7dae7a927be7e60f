"""All finance queries."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from finance.models import (
    Fund,
    FundLedgerEntry,
    HorizontalInvestment,
    Income,
    InvestFirstProject,
    LandedChallenge,
    Receivable,
    Reward,
    RewardRecipient,
    Subsidy,
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


async def list_receivables(session: AsyncSession, *, unit_id: str | None, after: str | None, limit: int) -> list[Receivable]:
    filters = [Receivable.unit_id == unit_id] if unit_id is not None else []
    return await _page(session, Receivable, *filters, after=after, limit=limit)
