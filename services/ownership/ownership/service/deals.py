"""What pricing and finance tell ownership: transactions opened and closed, deals concluded, horizontal
investments — each applied once to the achievement's rights record (OWN-16, OWN-9, OWN-10, FIN-2, ORG-2)."""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import (
    DealConcluded,
    HorizontalInvestmentRecorded,
    LicenceGranted,
    RecordAppended,
    TransactionOpened,
)
from ownership import repository
from ownership.domain.transactions import TransactionState, closing_state
from ownership.models import ConcludedDeal, PricingTransaction, StateEquity, TechnologyManagerDeal
from ownership.service.common import aggregate_of, emit_event, save_aggregate
from servicekit.clock import shanghai_day
from servicekit.outbox import new_id


def _instant_of(event: CloudEvent) -> datetime:
    """The event's time, read as UTC when a producer left out the offset (never fail a handler on it)."""
    return event.time if event.time.tzinfo is not None else event.time.replace(tzinfo=UTC)


def _day(value: object) -> date | None:
    """A licence term's day as pricing sent it; a day it could not have meant is left open."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def _transaction(session: AsyncSession, transaction_id: str, achievement_id: str, unit_id: str) -> PricingTransaction:
    """The transaction as ownership knows it, created `open` at the first event that names it (events may be reordered)."""
    known = await repository.get_pricing_transaction(session, transaction_id)
    if known is None:
        known = PricingTransaction(
            transaction_id=transaction_id, achievement_id=achievement_id, unit_id=unit_id, state=TransactionState.OPEN
        )
        session.add(known)
    return known


async def apply_transaction_opened(session: AsyncSession, opened: TransactionOpened, event: CloudEvent) -> None:
    """An opened transaction is open in the rights record until it concludes, is withdrawn or fails (OWN-16)."""
    known = await _transaction(session, opened.transaction_id, opened.achievement_id, opened.unit_id)
    licence = opened.licence or {}
    known.kind = opened.kind
    known.scope = (licence.get("scope") or "ordinary") if opened.kind == "license" else None
    known.start_on = _day(licence.get("start_on"))
    known.end_on = _day(licence.get("end_on"))
    known.opened_on = shanghai_day(_instant_of(event))
    await session.flush()


async def apply_record_appended(session: AsyncSession, step: RecordAppended, event: CloudEvent) -> None:
    """Each step keeps the transaction known; a withdrawal, or an auction closed without a winner, closes it (OWN-16)."""
    known = await _transaction(session, step.transaction_id, step.achievement_id, step.unit_id)
    known.last_step = step.step
    known.state = closing_state(known.state, step.step, step.details)
    await session.flush()


async def apply_deal_concluded(session: AsyncSession, deal: DealConcluded, event: CloudEvent) -> None:
    """A concluded deal's effect, decided by the aggregate: a licence in force, a transfer disposing, an
    investment recorded; transformed and out of the pool (OWN-9, OWN-10, OWN-16). A licence is announced as
    `ownership.licence.granted`; an investment adds state equity to the separate ledger (FIN-1, OWN-7); named
    technology managers count it (ORG-2).
    A deal on an achievement this service does not know is still kept (concluded_deals), so it is never lost."""
    # Keyed by transaction: the same deal announced twice (even under new event ids) acts once.
    if await repository.get_concluded_deal(session, deal.transaction_id) is not None:
        return
    at = _instant_of(event)
    row = await repository.get_achievement(session, deal.achievement_id, for_update=True)
    if row is not None:
        achievement = await aggregate_of(session, row, with_records=False)  # while the transaction is still open
        concluded = achievement.conclude_deal(
            transaction_id=deal.transaction_id, kind=deal.kind, counterparty=deal.counterparty, price=deal.price,
            licence=deal.licence, pay_later=(deal.payment or {}).get("mode") == "pay_later",
            concluded_at=at, concluded_on=shanghai_day(at),
        )
        save_aggregate(row, concluded)
        if deal.kind == "license" and concluded is not achievement:
            # API.md §7: the licence in force is announced as before (finance books no income from it: FIN-1).
            payment = deal.payment or {}
            await emit_event(session, "ownership.licence.granted", row.id, LicenceGranted(
                licence_id=deal.transaction_id, achievement_id=row.id, unit_id=row.unit_id, fee=deal.price,
                licensee=deal.counterparty, payment_due_on=payment.get("due_on"),
                payment_conditions=payment.get("conditions"),
            ), at)
        if deal.kind == "investment":
            # FIN-1 / API.md §6: an investment brings equity, not money; the stake enters the separate ledger.
            session.add(
                StateEquity(
                    id=new_id(), unit_id=row.unit_id, source="deal", transaction_id=deal.transaction_id,
                    achievement_id=row.id, enterprise=deal.counterparty, value=deal.price, recorded_at=at,
                )
            )
    known = await _transaction(session, deal.transaction_id, deal.achievement_id, deal.unit_id)
    known.state = TransactionState.CONCLUDED
    session.add(
        ConcludedDeal(
            transaction_id=deal.transaction_id, achievement_id=deal.achievement_id, unit_id=deal.unit_id,
            kind=deal.kind, price=deal.price, counterparty=deal.counterparty, received_at=at,
        )
    )
    for manager_id in dict.fromkeys(deal.technology_manager_ids):
        session.add(TechnologyManagerDeal(technology_manager_id=manager_id, transaction_id=deal.transaction_id,
                                          price=deal.price, concluded_at=at))
    await session.flush()


async def apply_horizontal_investment(
    session: AsyncSession, investment: HorizontalInvestmentRecorded, event: CloudEvent
) -> None:
    """State equity formed with horizontal-project surplus funds enters the separate ledger (OWN-7, FIN-2);
    the achievement put in as the technology stake counts as transformed (FIN-2)."""
    if await repository.get_state_equity_for_investment(session, investment.investment_id) is not None:
        return
    # Contract 6: state_equity_value is the unit's stake (technology valuation + cash) when sent.
    value = investment.state_equity_value
    if value is None:
        value = investment.technology_valuation + investment.cash_amount
    at = _instant_of(event)
    session.add(
        StateEquity(
            id=new_id(), unit_id=investment.unit_id, source="horizontal_investment",
            investment_id=investment.investment_id, achievement_id=investment.achievement_id,
            enterprise=investment.enterprise, value=value, recorded_at=at,
        )
    )
    if investment.achievement_id is not None:
        row = await repository.get_achievement(session, investment.achievement_id, for_update=True)
        if row is not None:
            achievement = await aggregate_of(session, row, with_records=False)
            save_aggregate(row, achievement.record_horizontal_investment(
                investment_id=investment.investment_id, enterprise=investment.enterprise,
                value=investment.technology_valuation, at=at,
            ))
    await session.flush()

