"""Transactions: open one (PRC-1…4, OWN-9, OWN-13…16, PRC-12), read it and its record (PRC-9), conclude it
at the agreement price (PRC-4/5/6, PRC-11), withdraw it. Load → the domain decides → save → outbox.

Ownership is asked (achievement, rights record, technology managers) before the write transaction
opens; the decision itself is taken under the achievement's guard (see `deals`).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import TransactionOpened
from pricing import clients, deals, repository
from pricing.domain.conflicts import Claim, check_no_conflict
from pricing.domain.terms import Licence, Payment, check_payment, licence_of, technology_manager_ids_of
from pricing.domain.transactions import (
    Action,
    Appraisal,
    State,
    check_agreement_terms,
    check_appraisal,
    check_method,
    next_state,
)
from pricing.models import Transaction
from pricing.schemas import ConclusionCreate, RecordItem, RecordRead, TransactionCreate, TransactionRead
from pricing.views import transaction_read
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import shanghai_day
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id

if TYPE_CHECKING:
    from servicekit.app import Runtime


async def open_transaction(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, data: TransactionCreate, now: datetime
) -> TransactionRead:
    """Open a transfer, licence or investment of an achievement the caller's unit still holds."""
    require_role(actor, "unit_admin")
    check_method(data.method)  # PRC-3
    holding = await clients.holding(runtime, data.achievement_id)  # before the write transaction
    if holding.unit_id != actor.unit_id:
        raise NotFound("no such achievement")  # another unit's achievement is not disclosed
    check_agreement_terms(data.method, data.counterparty is not None, data.proposed_price)  # PRC-4
    appraisal = (Appraisal(performed=data.appraisal.performed, value=data.appraisal.value,
                           report_reference=data.appraisal.report_reference) if data.appraisal else None)
    check_appraisal(data.counterparty.ownership if data.counterparty else None, appraisal)  # PRC-1, PRC-2
    asked = data.licence
    licence = licence_of(data.kind, Licence(asked.scope, asked.start_on, asked.end_on) if asked else None)
    payment = Payment(data.payment.mode, data.payment.due_on, data.payment.conditions) if data.payment else Payment()
    managers = technology_manager_ids_of(data.technology_manager_ids)
    check_payment(payment, kind=data.kind, method=data.method, national_interest=holding.national_interest,
                  counterparty_size=data.counterparty.size if data.counterparty else None)  # OWN-9, OWN-12
    if data.counterparty is not None:
        holding.check_party(data.counterparty.kind, data.counterparty.overseas)  # OWN-13/14/15
    await clients.check_technology_managers(runtime, managers)  # PRC-12
    candidate = Claim(transaction_id=None, kind=data.kind, concluded=False,
                      term=licence.term(opened_on=shanghai_day(now)) if licence else None)
    check_no_conflict(candidate, holding.rights, await deals.guarded_claims(session, data.achievement_id), rule="OWN-16")
    tx = Transaction(
        id=new_id(), unit_id=str(holding.unit_id), achievement_id=data.achievement_id,
        achievement_title=str(holding.achievement.get("title", ""))[:500], kind=data.kind, method=data.method,
        state=State.DRAFT.value, counterparty=data.counterparty.model_dump(mode="json") if data.counterparty else None,
        proposed_price=data.proposed_price, appraisal=data.appraisal.model_dump(mode="json") if data.appraisal else None,
        licence=data.licence.model_dump(mode="json") if data.licence else ({"scope": "ordinary", "start_on": None, "end_on": None}
                                                                          if licence else None),
        payment={"mode": payment.mode, "due_on": payment.due_on.isoformat() if payment.due_on else None,
                 "conditions": payment.conditions},
        technology_manager_ids=managers, due_at=None, record_seq=0, created_at=now, created_by=actor.sub, version=1,
    )
    session.add(tx)
    await session.flush()
    await deals.append_step(session, tx, step="opened", actor=actor.sub, details={
        "kind": tx.kind, "method": tx.method, "achievement_title": tx.achievement_title, "counterparty": tx.counterparty,
        "proposed_price": deals.money(tx.proposed_price), "licence": tx.licence, "payment": tx.payment,
        "technology_manager_ids": managers,
    }, now=now)
    if tx.appraisal is not None:  # PRC-2: the unit's decision, recorded before any price is published
        details = {**tx.appraisal, "required": True}
    else:  # PRC-1: the exemption itself is evidence
        details = {"performed": False, "required": False, "basis": "PRC-1: wholly state-owned counterparty"}
    await deals.append_step(session, tx, step="appraisal_recorded", actor=actor.sub, details=details, now=now)
    await deals.emit_event(session, "pricing.transaction.opened", tx.id, TransactionOpened(
        transaction_id=tx.id, unit_id=tx.unit_id, achievement_id=tx.achievement_id, kind=tx.kind, method=tx.method,
        licence=tx.licence, payment=tx.payment, technology_manager_ids=managers), now)
    return transaction_read(tx, None, None, None)


async def _read(session: AsyncSession, tx: Transaction, now: datetime) -> TransactionRead:
    closing, deal = await deals.preview(session, tx, now)
    return transaction_read(
        tx, await repository.get_notice_of(session, tx.id), await repository.get_listing_of(session, tx.id),
        await repository.get_auction_of(session, tx.id), preview=closing, preview_deal=deal,
    )


async def get_transaction(session: AsyncSession, *, actor: Principal, transaction_id: str, now: datetime) -> TransactionRead:
    """A transaction as of now (a due time-driven transition shows before the sweeper saves it), with its deal."""
    tx = await repository.get_transaction(session, transaction_id)
    if tx is None:
        raise NotFound()
    deals.ensure_reader(actor, tx)
    return await _read(session, tx, now)


async def get_record(session: AsyncSession, *, actor: Principal, transaction_id: str, now: datetime) -> RecordRead:
    """PRC-9: the transaction's full procedural record, in order, with the steps a due transition appends."""
    tx = await repository.get_transaction(session, transaction_id)
    if tx is None:
        raise NotFound()
    deals.ensure_reader(actor, tx)
    items = [RecordItem(seq=e.seq, at=e.at, step=e.step, actor=e.actor, details=e.details)
             for e in await repository.list_record_entries(session, transaction_id)]
    closing, deal = await deals.preview(session, tx, now)
    steps = [(s.step, s.details) for s in closing.steps] if closing else []
    if deal is not None:
        steps.append(("concluded", {**deal, "technology_manager_ids": tx.technology_manager_ids or []}))
    items += [RecordItem(seq=tx.record_seq + n, at=now, step=step, actor=deals.SYSTEM_ACTOR, details=details)
              for n, (step, details) in enumerate(steps, start=1)]
    return RecordRead(transaction_id=transaction_id, items=items)


async def conclude(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, transaction_id: str, data: ConclusionCreate,
    expected_version: int | None, now: datetime,
) -> TransactionRead:
    """PRC-4/5: after a clear notice, or PRC-6: after an expired listing, the deal at the agreement price (PRC-11)."""
    require_role(actor, "unit_admin")
    unit_id, achievement_id = await deals.unit_and_achievement(runtime, transaction_id)
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",))
    holding = await clients.holding(runtime, achievement_id)  # before the write transaction
    tx = await deals.locked(session, transaction_id, now)
    check_version(tx.version, expected_version)
    basis = "notice_clear" if tx.state == State.NOTICE_CLEAR else "listing_expired"
    tx.state = next_state(tx.method, tx.state, Action.CONCLUDE)  # 409 PRC-4 / PRC-6 from any other state
    await deals.check_conclusion(session, tx, holding.rights)  # PRC-11
    assert tx.proposed_price is not None and tx.counterparty is not None  # PRC-4 at opening
    await deals.conclude_deal(session, tx, price=tx.proposed_price, counterparty=tx.counterparty, basis=basis,
                              actor=actor.sub, now=now,
                              contract={"contract_reference": data.contract_reference, "signed_on": data.signed_on.isoformat()})
    await session.flush()
    return await _read(session, tx, now)


async def withdraw(
    session: AsyncSession, *, actor: Principal, transaction_id: str, expected_version: int | None, now: datetime
) -> TransactionRead:
    """The unit withdraws a transaction that no third party can still take (an open listing or auction runs out)."""
    tx = await deals.locked(session, transaction_id, now)
    deals.ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.WITHDRAW)
    notice = await repository.get_notice_of(session, tx.id)
    if notice is not None and notice.state == "active":
        notice.state = "withdrawn"
    tx.due_at = None
    await deals.append_step(session, tx, step="withdrawn", actor=actor.sub, details={}, now=now)
    await session.flush()
    return await _read(session, tx, now)
