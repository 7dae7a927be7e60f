"""Fiscal S&T funds run invest-first-equity-later: contributions and the append-only ledger (FIN-3, FIN-5)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from finance import repository
from finance.domain import funds as fund_rules
from finance.models import Fund, FundLedgerEntry
from finance.schemas import ContributionCreate, FundCreate, FundRead, LedgerEntryRead
from finance.service.common import FUND_READERS
from servicekit.auth import Principal, require_role
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page


def fund_read(fund: Fund) -> FundRead:
    """The API shape of a fund."""
    return FundRead.model_validate(fund, from_attributes=True)


def book_of(fund: Fund) -> fund_rules.FundBook:
    """The fund's totals as the pure book the rules work on."""
    return fund_rules.FundBook(
        contributed=fund.contributed, disbursed=fund.disbursed, exit_proceeds=fund.exit_proceeds, balance=fund.balance
    )


async def post(
    session: AsyncSession,
    fund: Fund,
    book: fund_rules.FundBook,
    *,
    kind: str,
    amount: Decimal,
    project_id: str | None,
    reference: str,
    now: datetime,
) -> None:
    """Append the movement to the fund's ledger and store the totals it leads to (fund row locked)."""
    session.add(
        FundLedgerEntry(
            fund_id=fund.id,
            seq=await repository.next_ledger_seq(session, fund.id),
            kind=kind,
            amount=amount,
            project_id=project_id,
            reference=reference,
            at=now,
        )
    )
    fund.contributed, fund.disbursed = book.contributed, book.disbursed
    fund.exit_proceeds, fund.balance = book.exit_proceeds, book.balance


async def create_fund(session: AsyncSession, *, actor: Principal, data: FundCreate, now: datetime) -> FundRead:
    """FIN-3: the platform admin sets up a fiscal S&T fund with its first contribution."""
    require_role(actor, "platform_admin")
    book = fund_rules.FundBook().contribute(data.contribution)
    fund = Fund(
        id=new_id(),
        name=data.name,
        contributed=fund_rules.ZERO,
        disbursed=fund_rules.ZERO,
        exit_proceeds=fund_rules.ZERO,
        balance=fund_rules.ZERO,
        created_at=now,
        version=1,
    )
    session.add(fund)
    await session.flush()
    await post(session, fund, book, kind="contribution", amount=data.contribution, project_id=None, reference="initial", now=now)
    await session.flush()
    return fund_read(fund)


async def contribute(
    session: AsyncSession, *, actor: Principal, fund_id: str, data: ContributionCreate, expected_version: int | None, now: datetime
) -> FundRead:
    """FIN-5: more fiscal money paid into the fund."""
    require_role(actor, "platform_admin")
    fund = await repository.get_fund(session, fund_id, for_update=True)
    if fund is None:
        raise NotFound()
    check_version(fund.version, expected_version)
    book = book_of(fund).contribute(data.amount)
    await post(session, fund, book, kind="contribution", amount=data.amount, project_id=None, reference=data.source, now=now)
    await session.flush()
    return fund_read(fund)


async def get_fund(session: AsyncSession, *, actor: Principal, fund_id: str) -> FundRead:
    """A fund's balance, contributions, disbursements and exit proceeds."""
    require_role(actor, *FUND_READERS)
    fund = await repository.get_fund(session, fund_id)
    if fund is None:
        raise NotFound()
    return fund_read(fund)


async def get_fund_ledger(session: AsyncSession, *, actor: Principal, fund_id: str) -> Page[LedgerEntryRead]:
    """FIN-5: every movement of the fund, in order; the totals can be recomputed from it."""
    require_role(actor, *FUND_READERS)
    if await repository.get_fund(session, fund_id) is None:
        raise NotFound()
    entries = await repository.list_ledger(session, fund_id)
    return Page[LedgerEntryRead](items=[LedgerEntryRead.model_validate(e, from_attributes=True) for e in entries])
