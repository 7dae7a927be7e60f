"""Receivables (FIN-9 agreed returns, FIN-10 pay-later fees): opened by events, moved by the unit and the sweeper."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import (
    ReceivableOpened,
    ReceivableOverdue,
    ReceivablePaid,
    ReceivableSettled,
    ReceivableWaived,
)
from finance import repository
from finance.domain.incomes import OpenReceivable
from finance.domain.receivables import AGREED_RETURN, PAY_LATER, ReceivableState
from finance.models import Receivable
from finance.schemas import (
    PaymentCreate,
    ReceivableRead,
    SettlementCreate,
    TriggerCreate,
    WaiverCreate,
)
from finance.service.common import after, emit_event, scoped_unit
from finance.service.incomes import record_income
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import shanghai_day
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, page_of


def _state(receivable: Receivable) -> ReceivableState:
    return ReceivableState(kind=receivable.kind, state=receivable.state, amount=receivable.amount, due_on=receivable.due_on)


def receivable_read(receivable: Receivable, now: datetime) -> ReceivableRead:
    """The API shape, with the state as of now: a due date passed unpaid reads `overdue` before the sweeper ran."""
    read = ReceivableRead.model_validate(receivable, from_attributes=True)
    return read.model_copy(update={"state": _state(receivable).state_as_of(shanghai_day(now))})


async def _insert(session: AsyncSession, receivable: Receivable) -> bool:
    """Insert once: the unique transaction or equity transfer stops a replay under a new event id."""
    try:
        async with session.begin_nested():
            session.add(receivable)
            await session.flush()
    except IntegrityError:
        return False
    return True


async def _announce_opened(session: AsyncSession, receivable: Receivable, now: datetime) -> None:
    await emit_event(
        session,
        "finance.receivable.opened",
        receivable.id,
        ReceivableOpened(
            receivable_id=receivable.id,
            unit_id=receivable.unit_id,
            achievement_id=receivable.achievement_id,
            kind=receivable.kind,
            state=receivable.state,
            amount=receivable.amount,
            due_on=receivable.due_on.isoformat() if receivable.due_on else None,
            conditions=receivable.conditions,
            transaction_id=receivable.transaction_id,
        ),
        now,
    )


async def open_pay_later(
    session: AsyncSession, *, transaction_id: str, unit_id: str, achievement_id: str, licensee: dict[str, Any],
    effect: OpenReceivable, now: datetime,
) -> None:
    """FIN-10: a concluded pay-later licence opens a receivable with the agreed fee, due date and conditions."""
    if await repository.get_receivable_by_transaction(session, transaction_id) is not None:
        return
    receivable = Receivable(
        id=new_id(), unit_id=unit_id, achievement_id=achievement_id, kind=PAY_LATER, transaction_id=transaction_id,
        enterprise=licensee, state="due", amount=effect.amount, due_on=effect.due_on, conditions=effect.conditions,
        opened_at=now, version=1,
    )
    if await _insert(session, receivable):
        await _announce_opened(session, receivable, now)


async def open_agreed_return(
    session: AsyncSession, *, equity_transfer_id: str, unit_id: str, achievement_id: str,
    enterprise: dict[str, Any] | None, now: datetime,
) -> None:
    """FIN-9: an agreed_return equity transfer opens a contingent receivable (once per transfer)."""
    if await repository.get_receivable_by_transfer(session, equity_transfer_id) is not None:
        return
    receivable = Receivable(
        id=new_id(), unit_id=unit_id, achievement_id=achievement_id, kind=AGREED_RETURN,
        equity_transfer_id=equity_transfer_id, enterprise=enterprise, state="contingent", opened_at=now, version=1,
    )
    if await _insert(session, receivable):
        await _announce_opened(session, receivable, now)


async def list_receivables(
    session: AsyncSession, *, actor: Principal, unit_id: str | None, limit: int, cursor: str | None, now: datetime
) -> Page[ReceivableRead]:
    """FIN-9/FIN-10: the unit's receivables, each in its state as of now."""
    unit_id = scoped_unit(actor, unit_id)
    rows = await repository.list_receivables(session, unit_id=unit_id, after=after(cursor), limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=lambda row: receivable_read(row, now))


async def get_receivable(session: AsyncSession, *, actor: Principal, receivable_id: str, now: datetime) -> ReceivableRead:
    """One receivable as of now (its unit's unit_admin, department, platform_admin)."""
    receivable = await repository.get_receivable(session, receivable_id)
    if receivable is None:
        raise NotFound()
    scoped_unit(actor, receivable.unit_id)
    return receivable_read(receivable, now)


async def _own_receivable(session: AsyncSession, actor: Principal, receivable_id: str, expected_version: int | None) -> Receivable:
    require_role(actor, "unit_admin")
    receivable = await repository.get_receivable(session, receivable_id, for_update=True)
    if receivable is None:
        raise NotFound()
    ensure_unit_access(actor, receivable.unit_id, unit_roles=("unit_admin",))
    check_version(receivable.version, expected_version)
    return receivable


async def _mark_overdue(session: AsyncSession, receivable: Receivable, now: datetime) -> None:
    """FIN-10: store the overdue step and report it (the receivable's row is locked)."""
    receivable.state = "overdue"
    receivable.overdue_at = now
    await emit_event(
        session,
        "finance.receivable.overdue",
        receivable.id,
        ReceivableOverdue(
            receivable_id=receivable.id, unit_id=receivable.unit_id, achievement_id=receivable.achievement_id,
            amount=receivable.amount, due_on=receivable.due_on.isoformat() if receivable.due_on else "",
        ),
        now,
    )


async def trigger_receivable_due(
    session: AsyncSession, *, actor: Principal, receivable_id: str, data: TriggerCreate, expected_version: int | None, now: datetime
) -> ReceivableRead:
    """FIN-9: the enterprise listed or the equity was transferred: the agreed return falls due."""
    receivable = await _own_receivable(session, actor, receivable_id, expected_version)
    moved = _state(receivable).trigger(event=data.event, amount=data.amount)
    receivable.state, receivable.amount = moved.state, moved.amount
    receivable.trigger_event = data.event
    receivable.due_at = now
    await session.flush()
    return receivable_read(receivable, now)


async def settle(
    session: AsyncSession, *, actor: Principal, receivable_id: str, data: SettlementCreate, expected_version: int | None,
    now: datetime,
) -> ReceivableRead:
    """FIN-9: the agreed return was received by the unit: settled, and income `agreed_return` (FIN-1)."""
    receivable = await _own_receivable(session, actor, receivable_id, expected_version)
    receivable.state = _state(receivable).settle(amount=data.amount, settled_on=data.settled_on, today=shanghai_day(now)).state
    receivable.settled_at = now
    receivable.settlement = {"amount": str(data.amount), "settled_on": data.settled_on.isoformat()}
    income = await record_income(
        session, source="agreed_return", source_id=receivable.id, unit_id=receivable.unit_id,
        achievement_id=receivable.achievement_id, amount=data.amount, receivable_id=receivable.id,
        equity_transfer_id=receivable.equity_transfer_id, now=now,
    )
    receivable.income_id = income.id if income else None
    await session.flush()
    await emit_event(
        session,
        "finance.receivable.settled",
        receivable.id,
        ReceivableSettled(
            receivable_id=receivable.id, unit_id=receivable.unit_id, achievement_id=receivable.achievement_id,
            amount=data.amount, settled_on=data.settled_on.isoformat(), income_id=receivable.income_id,
        ),
        now,
    )
    return receivable_read(receivable, now)


async def pay(
    session: AsyncSession, *, actor: Principal, receivable_id: str, data: PaymentCreate, expected_version: int | None,
    now: datetime,
) -> ReceivableRead:
    """FIN-10: the licensee paid the fee: paid, and income `licence_payment` (FIN-1)."""
    receivable = await _own_receivable(session, actor, receivable_id, expected_version)
    paid, happened = _state(receivable).pay(amount=data.amount, paid_on=data.paid_on, today=shanghai_day(now))
    if "overdue" in happened:
        await _mark_overdue(session, receivable, now)
    receivable.state = paid.state
    receivable.payment = {"amount": str(data.amount), "paid_on": data.paid_on.isoformat()}
    income = await record_income(
        session, source="licence_payment", source_id=receivable.id, unit_id=receivable.unit_id,
        achievement_id=receivable.achievement_id, amount=data.amount, kind="license",
        transaction_id=receivable.transaction_id, receivable_id=receivable.id, now=now,
    )
    receivable.income_id = income.id if income else None
    await session.flush()
    await emit_event(
        session,
        "finance.receivable.paid",
        receivable.id,
        ReceivablePaid(
            receivable_id=receivable.id, unit_id=receivable.unit_id, achievement_id=receivable.achievement_id,
            amount=data.amount, paid_on=data.paid_on.isoformat(), income_id=receivable.income_id or "",
        ),
        now,
    )
    return receivable_read(receivable, now)


async def waive(
    session: AsyncSession, *, actor: Principal, receivable_id: str, data: WaiverCreate, expected_version: int | None,
    now: datetime,
) -> ReceivableRead:
    """FIN-10: the unit waives the fee by its decision, with a reason."""
    receivable = await _own_receivable(session, actor, receivable_id, expected_version)
    waived, happened = _state(receivable).waive(has_decision=data.decision is not None, reason=data.reason, today=shanghai_day(now))
    if "overdue" in happened:
        await _mark_overdue(session, receivable, now)
    assert data.decision is not None and data.reason is not None  # checked by FIN-10 above
    receivable.state = waived.state
    receivable.waiver = {"decision": data.decision.model_dump(mode="json"), "reason": data.reason.strip(), "waived_at": now.isoformat()}
    await session.flush()
    await emit_event(
        session,
        "finance.receivable.waived",
        receivable.id,
        ReceivableWaived(
            receivable_id=receivable.id, unit_id=receivable.unit_id, achievement_id=receivable.achievement_id,
            amount=receivable.amount, reason=data.reason.strip(),
        ),
        now,
    )
    return receivable_read(receivable, now)


async def sweep_overdue(session: AsyncSession, now: datetime) -> None:
    """Sweeper: pay-later receivables whose due date passed unpaid become overdue, each once (FIN-10).

    Only due rows past their date are read, claimed with row locks (SKIP LOCKED on PostgreSQL, the
    write lock on SQLite), and re-checked under the lock, so two replicas never move one row twice.
    """
    today = shanghai_day(now)
    for receivable in await repository.claim_past_due_receivables(session, today=today):
        _, happened = _state(receivable).advance(today)
        if "overdue" in happened:
            await _mark_overdue(session, receivable, now)
    await session.flush()
