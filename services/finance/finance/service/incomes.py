"""Income retained by the unit (FIN-1): one entry per sum received, however often we hear of it."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import IncomeRecorded
from finance import repository
from finance.models import Income
from finance.schemas import IncomeRead
from finance.service.common import UNIT_READERS, after, emit_event, scoped_unit
from servicekit.auth import Principal, ensure_unit_access
from servicekit.errors import NotFound
from servicekit.outbox import new_id
from servicekit.pagination import Page, page_of


def income_read(income: Income) -> IncomeRead:
    """The API shape of an income entry."""
    return IncomeRead.model_validate(income, from_attributes=True)


async def record_income(
    session: AsyncSession,
    *,
    source: str,
    source_id: str,
    unit_id: str,
    achievement_id: str,
    amount: Decimal,
    now: datetime,
    kind: str | None = None,
    transaction_id: str | None = None,
    receivable_id: str | None = None,
    equity_transfer_id: str | None = None,
) -> Income | None:
    """FIN-1: book a sum received 100% to the unit, once per source however often we hear of it."""
    if await repository.get_income_by_source(session, source, source_id) is not None:
        return None
    income = Income(
        id=new_id(),
        unit_id=unit_id,
        source=source,
        source_id=source_id,
        transaction_id=transaction_id,
        receivable_id=receivable_id,
        equity_transfer_id=equity_transfer_id,
        achievement_id=achievement_id,
        kind=kind,
        amount=amount,
        retained_by_unit=True,  # FIN-1: not remitted to the treasury
        recorded_at=now,
        version=1,
    )
    try:
        # The unique (source, source_id) is the last guard against a concurrent replica or a
        # replay under a new event id; a savepoint keeps the rest of the transaction usable.
        async with session.begin_nested():
            session.add(income)
            await session.flush()
    except IntegrityError:
        return None
    await emit_event(
        session,
        "finance.income.recorded",
        income.id,
        IncomeRecorded(
            income_id=income.id,
            unit_id=unit_id,
            source=source,
            amount=amount,
            achievement_id=achievement_id,
            transaction_id=transaction_id,
            receivable_id=receivable_id,
            retained_by_unit=True,
        ),
        now,
    )
    return income


async def get_income(session: AsyncSession, *, actor: Principal, income_id: str) -> IncomeRead:
    """One income entry (its unit's unit_admin, department, platform_admin)."""
    income = await repository.get_income(session, income_id)
    if income is None:
        raise NotFound()
    ensure_unit_access(actor, income.unit_id, unit_roles=("unit_admin",), global_roles=UNIT_READERS)
    return income_read(income)


async def list_incomes(
    session: AsyncSession, *, actor: Principal, unit_id: str | None, limit: int, cursor: str | None
) -> Page[IncomeRead]:
    """FIN-1: the unit's retained income, one entry per sum received."""
    unit_id = scoped_unit(actor, unit_id)
    rows = await repository.list_incomes(session, unit_id=unit_id, after=after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=income_read)
