"""What other services' events bring the unit (FIN-1): income now, a receivable, or nothing in cash."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import DealConcluded, EquityTransferCompleted
from finance import repository
from finance.domain.incomes import (
    BookIncome,
    OpenReceivable,
    effect_of_deal,
    resource_fee_income,
)
from finance.models import ConcludedDeal
from finance.service.common import event_time
from finance.service.incomes import record_income
from finance.service.receivables import open_agreed_return, open_pay_later


async def on_deal_concluded(session: AsyncSession, deal: DealConcluded, event: CloudEvent) -> None:
    """FIN-1/FIN-10: a deal paid at conclusion is income; a pay-later licence opens a receivable; an
    investment brings equity, not cash (ownership enters it in the separate ledger from the same event)."""
    if await repository.get_concluded_deal(session, deal.transaction_id) is not None:
        return
    now = event_time(event)
    try:
        # Keyed by transaction: the same deal announced again, even under a new event id, acts once.
        async with session.begin_nested():
            session.add(
                ConcludedDeal(
                    transaction_id=deal.transaction_id, unit_id=deal.unit_id, achievement_id=deal.achievement_id,
                    kind=deal.kind, price=deal.price, payment_mode=str((deal.payment or {}).get("mode") or "at_conclusion"),
                    counterparty=deal.counterparty, concluded_at=now,
                )
            )
            await session.flush()
    except IntegrityError:
        return
    effect = effect_of_deal(kind=deal.kind, price=deal.price, payment=deal.payment)
    if isinstance(effect, BookIncome):
        await record_income(
            session, source="deal", source_id=deal.transaction_id, unit_id=deal.unit_id,
            achievement_id=deal.achievement_id, amount=effect.amount, kind=deal.kind,
            transaction_id=deal.transaction_id, now=now,
        )
    elif isinstance(effect, OpenReceivable):
        await open_pay_later(
            session, transaction_id=deal.transaction_id, unit_id=deal.unit_id, achievement_id=deal.achievement_id,
            licensee=deal.counterparty, effect=effect, now=now,
        )


async def on_equity_transfer_completed(session: AsyncSession, transfer: EquityTransferCompleted, event: CloudEvent) -> None:
    """FIN-1: a resource fee is income when the transfer completes; FIN-9: an agreed return opens a receivable."""
    now = event_time(event)
    fee = resource_fee_income(mode=transfer.mode, fee=transfer.fee)
    if fee is not None:
        await record_income(
            session, source="resource_fee", source_id=transfer.equity_transfer_id, unit_id=transfer.unit_id,
            achievement_id=transfer.achievement_id, amount=fee, equity_transfer_id=transfer.equity_transfer_id, now=now,
        )
    elif transfer.mode == "agreed_return":
        await open_agreed_return(
            session, equity_transfer_id=transfer.equity_transfer_id, unit_id=transfer.unit_id,
            achievement_id=transfer.achievement_id, enterprise=transfer.enterprise, now=now,
        )
