"""What every transaction step shares: the procedural record (PRC-9), the achievement's guard and the
conflict check (OWN-16, PRC-11), the deal's conclusion, and the time-driven closing (PRC-4…8).

Concurrency: every step of a transaction locks its row; every opening and conclusion also locks
the achievement's guard row (always after the transaction's row, so the order never inverts) and
reads pricing's own claims under it. Two transactions of one achievement therefore open and
conclude one after the other, each seeing what the previous committed — so conflicting ones can
never both be open, and a deal can never conclude after a deal that disposed of the achievement.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import format_two_places
from contracts.events import DealConcluded, ListingExpired, NoticeClosed, RecordAppended
from pricing import clients, repository
from pricing.domain.closing import AuctionBidFacts, Closing, Due, close_due
from pricing.domain.conflicts import Claim, Rights, check_no_conflict
from pricing.domain.terms import Licence
from pricing.domain.transactions import State
from pricing.models import INFRA, Auction, Listing, Notice, RecordEntry, Transaction
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import shanghai_day
from servicekit.errors import NotFound
from servicekit.outbox import EventEmitter, new_id

if TYPE_CHECKING:
    from servicekit.app import Runtime

SOURCE = "pricing"
SYSTEM_ACTOR = "system"  # time-driven steps (notice end, listing expiry, auction close)
READ_ROLES = ("department", "platform_admin")  # besides the unit's own unit_admin and the service role


emit_event = EventEmitter(SOURCE, INFRA)
"""Announce an event through the outbox, in the caller's transaction."""


def money(value: Decimal | None) -> str | None:
    """Money as the record and events carry it: a string with two places."""
    return None if value is None else format_two_places(value)


async def append_step(
    session: AsyncSession, tx: Transaction, *, step: str, actor: str, details: dict[str, Any], now: datetime
) -> None:
    """PRC-9: append one step to the record (seq 1, 2, 3 … under the transaction's row lock) and announce it."""
    tx.record_seq += 1
    entry = RecordEntry(id=new_id(), transaction_id=tx.id, seq=tx.record_seq, at=now, step=step, actor=actor, details=details)
    await repository.insert_record_entry(session, entry)
    await emit_event(session, "pricing.record.appended", tx.id, RecordAppended(
        transaction_id=tx.id, unit_id=tx.unit_id, achievement_id=tx.achievement_id, seq=entry.seq,
        at=now.isoformat(), step=step, actor=actor, details=details,
    ), now)


async def unit_and_achievement(runtime: "Runtime", transaction_id: str) -> tuple[str, str]:
    """A transaction's unit and achievement, read before the write transaction (for the lookups it needs)."""
    async with runtime.read_sessions() as session:
        tx = await repository.get_transaction(session, transaction_id)
        if tx is None:
            raise NotFound()
        return tx.unit_id, tx.achievement_id


# --- access ----------------------------------------------------------------------------------


def ensure_writer(actor: Principal, tx: Transaction) -> None:
    """The unit's unit_admin (or platform_admin) runs a transaction; lookups by other services only read."""
    require_role(actor, "unit_admin", "platform_admin")
    ensure_unit_access(actor, tx.unit_id, unit_roles=("unit_admin",), global_roles=("platform_admin",))


def ensure_reader(actor: Principal, tx: Transaction) -> None:
    """The unit's unit_admin, department and platform_admin read a transaction."""
    ensure_unit_access(actor, tx.unit_id, unit_roles=("unit_admin",), global_roles=READ_ROLES)


# --- what the unit still holds (OWN-16, PRC-11) ----------------------------------------------


def licence_of(tx: Transaction) -> Licence | None:
    """The licence a transaction grants, as stored."""
    if tx.licence is None:
        return None
    start, end = tx.licence.get("start_on"), tx.licence.get("end_on")
    return Licence(scope=tx.licence["scope"], start_on=date.fromisoformat(start) if start else None,
                   end_on=date.fromisoformat(end) if end else None)


def claim_of(tx: Transaction) -> Claim:
    """The transaction as the conflict table sees it."""
    licence = licence_of(tx)
    term = licence.term(opened_on=shanghai_day(tx.created_at)) if licence else None
    return Claim(transaction_id=tx.id, kind=tx.kind, concluded=tx.state == State.CONCLUDED, term=term)


async def guarded_claims(session: AsyncSession, achievement_id: str) -> list[Claim]:
    """Lock the achievement's guard, then read pricing's own open and concluded transactions of it."""
    await repository.lock_achievement(session, achievement_id)
    return [claim_of(tx) for tx in await repository.list_claims(session, achievement_id)]


async def check_conclusion(session: AsyncSession, tx: Transaction, rights: Rights) -> None:
    """PRC-11: at conclusion, the deal against ownership's record (looked up before) and pricing's own deals."""
    check_no_conflict(claim_of(tx), rights, await guarded_claims(session, tx.achievement_id), rule="PRC-11")


async def conclude_deal(
    session: AsyncSession, tx: Transaction, *, price: Decimal, counterparty: dict[str, Any], basis: str, actor: str,
    now: datetime, contract: dict[str, Any] | None = None,
) -> None:
    """The deal: record it, append `concluded` (naming the technology managers, PRC-12), announce `pricing.deal.concluded`."""
    managers = tx.technology_manager_ids or []
    tx.deal = {"price": money(price), "counterparty": counterparty, "basis": basis, "concluded_at": now.isoformat(), **(contract or {})}
    await append_step(session, tx, step="concluded", actor=actor, details={
        "basis": basis, "price": money(price), "counterparty": counterparty, "technology_manager_ids": managers,
        "licence": tx.licence, "payment": tx.payment, **(contract or {}),
    }, now=now)
    await emit_event(session, "pricing.deal.concluded", tx.id, DealConcluded(
        transaction_id=tx.id, unit_id=tx.unit_id, achievement_id=tx.achievement_id, kind=tx.kind, price=price,
        counterparty=counterparty, basis=basis, concluded_at=now.isoformat(), method=tx.method, licence=tx.licence,
        payment=tx.payment or {"mode": "at_conclusion", "due_on": None, "conditions": None},
        technology_manager_ids=managers,
    ), now)


# --- time-driven closing ---------------------------------------------------------------------


async def _due(session: AsyncSession, tx: Transaction, rights: Rights | None) -> tuple[Due, Notice | Listing | Auction | None]:
    """What may be due for `tx`, with its running notice, listing or auction."""
    state = State(tx.state)
    if state is State.IN_NOTICE:
        notice = await repository.get_notice_of(session, tx.id)
        assert notice is not None  # in_notice always has its notice
        return Due(tx.method, tx.state, tx.due_at, notice.id, notice.ends_at, objection_count=notice.objection_count), notice
    if state is State.LISTED:
        listing = await repository.get_listing_of(session, tx.id)
        assert listing is not None
        return Due(tx.method, tx.state, tx.due_at, listing.id, listing.closes_at), listing
    if state is State.AUCTION_OPEN:
        auction = await repository.get_auction_of(session, tx.id)
        assert auction is not None
        bids = tuple(AuctionBidFacts(b.id, b.seq, b.amount, b.party) for b in await repository.list_bids(session, auction.id))
        own = tuple(await own_claims(session, tx, lock=rights is not None))
        return Due(tx.method, tx.state, tx.due_at, auction.id, auction.closes_at, reserve_price=auction.reserve_price,
                   bids=bids, candidate=claim_of(tx), rights=rights, own_claims=own), auction
    return Due(tx.method, tx.state, None), None


async def own_claims(session: AsyncSession, tx: Transaction, *, lock: bool) -> list[Claim]:
    """Pricing's own claims on the achievement: under its guard when a deal may follow, else as read."""
    if lock:
        return await guarded_claims(session, tx.achievement_id)
    return [claim_of(other) for other in await repository.list_claims(session, tx.achievement_id)]


async def advance(session: AsyncSession, tx: Transaction, now: datetime, rights: Rights | None = None) -> None:
    """Save the time-driven transition that is due (`tx` is locked); a won auction needs `rights` (else the sweeper)."""
    if tx.due_at is None or tx.due_at > now:
        return
    due, phase = await _due(session, tx, rights)
    closing = close_due(due, now)
    if closing is None:
        return
    tx.state = closing.state.value
    tx.due_at = None
    assert phase is not None
    phase.state = closing.phase_state
    for step in closing.steps:
        await append_step(session, tx, step=step.step, actor=SYSTEM_ACTOR, details=step.details, now=now)
    if isinstance(phase, Notice):
        await emit_event(session, "pricing.notice.closed", phase.id, NoticeClosed(
            notice_id=phase.id, transaction_id=tx.id, unit_id=tx.unit_id, objected=phase.state == "objected"), now)
    elif isinstance(phase, Listing):
        await emit_event(session, "pricing.listing.expired", phase.id,
                         ListingExpired(listing_id=phase.id, transaction_id=tx.id, unit_id=tx.unit_id), now)
    elif closing.winner is not None:
        await conclude_deal(session, tx, price=closing.winner.amount, counterparty=closing.winner.party, basis="auction",
                            actor=SYSTEM_ACTOR, now=now)


async def preview(session: AsyncSession, tx: Transaction, now: datetime) -> tuple[Closing | None, dict[str, Any] | None]:
    """For reads: the closing that is due (assuming ownership's record allows a won auction's deal) and its deal."""
    if tx.due_at is None or tx.due_at > now:
        return None, None
    due, _ = await _due(session, tx, None)
    closing = close_due(replace(due, rights=Rights(status="held")), now)
    if closing is None or closing.winner is None:
        return closing, None
    return closing, {"price": money(closing.winner.amount), "counterparty": closing.winner.party, "basis": "auction",
                     "concluded_at": now.isoformat()}


async def locked(session: AsyncSession, transaction_id: str, now: datetime, rights: Rights | None = None) -> Transaction:
    """The transaction, its row locked, with whatever time-driven transition is due saved first."""
    tx = await repository.get_transaction(session, transaction_id, for_update=True)
    if tx is None:
        raise NotFound()
    await advance(session, tx, now, rights)
    return tx


async def prepare_sweep(runtime: "Runtime", now: datetime) -> dict[str, Rights]:
    """Before the sweep's transaction: the rights records of the achievements whose auctions close now (PRC-11)."""
    async with runtime.read_sessions() as session:
        due = await repository.list_due_auctions(session, now)
        await session.rollback()
    return {achievement_id: await clients.rights(runtime, achievement_id) for achievement_id in {a for _, a in due}}


async def sweep(session: AsyncSession, now: datetime, rights: dict[str, Rights] | None = None) -> None:
    """Sweeper: apply every due time-driven transition (safe with several replicas: locked rows are skipped)."""
    for tx in await repository.list_due_transactions(session, now):
        await advance(session, tx, now, (rights or {}).get(tx.achievement_id))
    await session.flush()
