"""Pricing use cases: load → domain decides → save → outbox, in the caller's transaction.

Every step of a transaction first locks its row (`repository.get_transaction(for_update=True)`),
applies whatever time-driven transition is due (`advance`), then lets the state machine in
`domain.transactions` decide. So steps of one transaction are serialised on every backend, and
a refusal never leaves half a change behind (the request's transaction rolls back).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy, format_two_places
from contracts.events import (
    ChallengeAwarded,
    ChallengeLanded,
    DealConcluded,
    ListingExpired,
    ListingPublished,
    NoticeClosed,
    NoticeObjected,
    NoticePublished,
    RecordAppended,
    TransactionOpened,
)
from pricing import repository
from pricing.domain import challenges as challenge_rules
from pricing.domain.gates import AchievementFacts, PartyFacts, check_transaction_gates
from pricing.domain.transactions import (
    Action,
    Appraisal,
    Bid,
    State,
    check_agreement_terms,
    check_appraisal,
    check_auction_terms,
    check_bid,
    check_delisting_time,
    check_method,
    check_objection_time,
    due_action,
    listing_closes_at,
    listing_price,
    next_state,
    notice_ends_at,
    winning_bid,
)
from pricing.models import (
    INFRA,
    UNIT_POLICIES,
    Auction,
    AuctionBid,
    Challenge,
    ChallengeResponse,
    Listing,
    Notice,
    Objection,
    RecordEntry,
    Transaction,
)
from pricing.schemas import (
    AuctionCreate,
    AuctionRead,
    AwardCreate,
    BidCreate,
    BidRead,
    ChallengeCreate,
    ChallengeRead,
    ChallengeResponseCreate,
    ChallengeResponseRead,
    ConclusionCreate,
    DealRead,
    DelistingCreate,
    DelistingRead,
    LandingCreate,
    ListingCreate,
    ListingRead,
    NoticeRead,
    ObjectionCreate,
    ObjectionRead,
    Party,
    RecordItem,
    RecordRead,
    TransactionCreate,
    TransactionRead,
)
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.errors import InvalidInput, InvalidState, NotFound, check_version
from servicekit.outbox import EventEmitter, new_id
from servicekit.pagination import Page, decode_cursor, page_of
from servicekit.units import get_unit_policy

if TYPE_CHECKING:
    from servicekit.app import Runtime

SOURCE = "pricing"
SYSTEM_ACTOR = "system"  # time-driven steps (notice end, listing expiry, auction close)
READ_ROLES = ("department", "platform_admin")  # besides the unit's own unit_admin and the service role


_emit = EventEmitter(SOURCE, INFRA)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format_two_places(value)


def _actor(principal: Principal) -> str:
    return principal.sub


# --- reading models -------------------------------------------------------------------------


def transaction_read(tx: Transaction, notice: Notice | None, listing: Listing | None, auction: Auction | None) -> TransactionRead:
    return TransactionRead(
        id=tx.id,
        unit_id=tx.unit_id,
        achievement_id=tx.achievement_id,
        achievement_title=tx.achievement_title,
        kind=tx.kind,
        method=tx.method,
        state=tx.state,
        counterparty=tx.counterparty,
        price=(tx.deal and Decimal(tx.deal["price"])) or (listing.price if listing else tx.proposed_price),
        appraisal=tx.appraisal,
        notice_id=notice.id if notice else None,
        listing_id=listing.id if listing else None,
        auction_id=auction.id if auction else None,
        deal=DealRead.model_validate(tx.deal) if tx.deal else None,
        created_at=tx.created_at,
        version=tx.version,
    )


def notice_read(notice: Notice) -> NoticeRead:
    return NoticeRead.model_validate(notice, from_attributes=True)


def listing_read(listing: Listing) -> ListingRead:
    return ListingRead.model_validate(listing, from_attributes=True)


def auction_read(auction: Auction) -> AuctionRead:
    return AuctionRead.model_validate(auction, from_attributes=True)


def challenge_read(challenge: Challenge) -> ChallengeRead:
    return ChallengeRead.model_validate(challenge, from_attributes=True)


async def _full_read(session: AsyncSession, tx: Transaction) -> TransactionRead:
    return transaction_read(
        tx,
        await repository.get_notice_of(session, tx.id),
        await repository.get_listing_of(session, tx.id),
        await repository.get_auction_of(session, tx.id),
    )


# --- the procedural record (PRC-9) ------------------------------------------------------------


async def _append(
    session: AsyncSession, tx: Transaction, *, step: str, actor: str, details: dict[str, Any], now: datetime,
    persist: bool = True,
) -> RecordEntry:
    """PRC-9: append one step to the record (seq 1, 2, 3 … under the transaction's row lock) and announce it.

    Without `persist` (a read deriving the state as of now) the entry is only returned.
    """
    tx.record_seq += 1
    entry = RecordEntry(id=new_id(), transaction_id=tx.id, seq=tx.record_seq, at=now, step=step, actor=actor, details=details)
    if not persist:
        return entry
    await repository.insert_record_entry(session, entry)
    await _emit(
        session,
        "pricing.record.appended",
        tx.id,
        RecordAppended(
            transaction_id=tx.id,
            unit_id=tx.unit_id,
            achievement_id=tx.achievement_id,
            seq=entry.seq,
            at=now.isoformat(),
            step=step,
            actor=actor,
            details=details,
        ),
        now,
    )
    return entry


# --- achievement facts from ownership (contract item 1) ---------------------------------------


@dataclass(frozen=True)
class _Committed:
    """What a step reads before its write transaction begins, to make its lookups at other services first."""

    unit_id: str
    achievement_id: str
    closes_at: datetime | None


async def _committed(
    runtime: "Runtime", get: Callable[[AsyncSession, str], Awaitable[Any]], entity_id: str
) -> _Committed | None:
    """A transaction, listing or auction as last committed, with its transaction's unit and achievement.

    Read in a read-only session, so the lookups that need it run before the request's write
    transaction begins; the write step then reads (and locks) the rows again.
    """
    async with runtime.read_sessions() as reads:
        entity = await get(reads, entity_id)
        if entity is None:
            return None
        tx = entity if isinstance(entity, Transaction) else await repository.get_transaction(reads, entity.transaction_id)
        assert tx is not None  # listings and auctions belong to a transaction (foreign key)
        return _Committed(unit_id=tx.unit_id, achievement_id=tx.achievement_id, closes_at=getattr(entity, "closes_at", None))


async def _achievement(runtime: "Runtime", achievement_id: str) -> dict[str, Any]:
    """The achievement as ownership holds it now; 404 when ownership does not know it."""
    achievement = await runtime.lookup("ownership", f"/api/v1/achievements/{achievement_id}")
    if achievement is None:
        raise NotFound("no such achievement")
    return achievement


def _facts(achievement: dict[str, Any]) -> AchievementFacts:
    security = achievement.get("security") or {}
    records = achievement.get("compliance_records") or []
    return AchievementFacts(
        classified=bool(security.get("classified")),
        key_core_technology=bool(security.get("key_core_technology")),
        ethics_review_required=bool(achievement.get("ethics_review_required")),
        compliance_kinds=frozenset(str(r.get("kind")) for r in records if isinstance(r, dict)),
    )


def _check_party(achievement: dict[str, Any], party: Party) -> None:
    """OWN-13/14/15 for whoever a deal could go to."""
    check_transaction_gates(_facts(achievement), PartyFacts(kind=party.kind, overseas=party.overseas))


# --- time-driven transitions -----------------------------------------------------------------


async def advance(session: AsyncSession, tx: Transaction, now: datetime, *, persist: bool = True) -> list[RecordEntry]:
    """Apply the time-driven transition that is due (notice end, listing expiry, auction close); `tx` is locked.

    Without `persist` it only derives the state as of now (a GET, API.md §2): the objects change in
    the read session, which is never flushed, and the record entries it would append are returned;
    the sweeper or the next write persists the transition and emits its events.
    """
    notice = listing = auction = None
    bids: list[AuctionBid] = []
    if tx.state == State.IN_NOTICE:
        notice = await repository.get_notice_of(session, tx.id)
    elif tx.state == State.LISTED:
        listing = await repository.get_listing_of(session, tx.id)
    elif tx.state == State.AUCTION_OPEN:
        auction = await repository.get_auction_of(session, tx.id)
        bids = await repository.list_bids(session, auction.id) if auction else []
    winner_bid: AuctionBid | None = None
    if auction is not None:
        winner = winning_bid([Bid(seq=b.seq, amount=b.amount) for b in bids], auction.reserve_price)
        winner_bid = next((b for b in bids if winner and b.seq == winner.seq), None)
    action = due_action(
        tx.state,
        tx.due_at,
        now,
        objected=bool(notice and notice.objection_count),
        has_winning_bid=winner_bid is not None,
    )
    if action is None:
        return []
    tx.state = next_state(tx.method, tx.state, action)
    tx.due_at = None
    if notice is not None:  # PRC-4/PRC-5: the notice has run its course
        objected = action is Action.CLOSE_NOTICE_OBJECTED
        notice.state = "objected" if objected else "clear"
        entries = [await _append(
            session, tx, step="notice_closed", actor=SYSTEM_ACTOR,
            details={"notice_id": notice.id, "ended_at": notice.ends_at.isoformat(), "objected": objected,
                     "objection_count": notice.objection_count},
            now=now, persist=persist,
        )]
        if persist:
            await _emit(session, "pricing.notice.closed", notice.id,
                        NoticeClosed(notice_id=notice.id, transaction_id=tx.id, unit_id=tx.unit_id, objected=objected), now)
    elif listing is not None:  # PRC-6: 15 days without delisting
        listing.state = "expired"
        entries = [await _append(
            session, tx, step="listing_expired", actor=SYSTEM_ACTOR,
            details={"listing_id": listing.id, "closed_at": listing.closes_at.isoformat()}, now=now, persist=persist,
        )]
        if persist:
            await _emit(session, "pricing.listing.expired", listing.id,
                        ListingExpired(listing_id=listing.id, transaction_id=tx.id, unit_id=tx.unit_id), now)
    elif auction is not None:  # PRC-8: the highest valid bid wins, or no deal
        auction.state = "won" if winner_bid else "failed"
        entries = [await _append(
            session, tx, step="auction_closed", actor=SYSTEM_ACTOR,
            details={
                "auction_id": auction.id,
                "closed_at": auction.closes_at.isoformat(),
                "bid_count": len(bids),
                "winning_bid_id": winner_bid.id if winner_bid else None,
                "amount": _money(winner_bid.amount) if winner_bid else None,
            },
            now=now, persist=persist,
        )]
        if winner_bid is not None:
            entries.append(await _conclude(session, tx, price=winner_bid.amount, counterparty=winner_bid.party,
                                           basis="auction", actor=SYSTEM_ACTOR, now=now, persist=persist))
    else:
        entries = []
    return entries


async def sweep(session: AsyncSession, now: datetime) -> None:
    """Sweeper: apply every due time-driven transition (safe with several replicas: locked rows are skipped)."""
    for tx in await repository.list_due_transactions(session, now):
        await advance(session, tx, now)
    await session.flush()


async def _locked(session: AsyncSession, transaction_id: str, now: datetime) -> Transaction:
    tx = await repository.get_transaction(session, transaction_id, for_update=True)
    if tx is None:
        raise NotFound()
    await advance(session, tx, now)
    return tx


def _ensure_writer(actor: Principal, tx: Transaction) -> None:
    """The unit's unit_admin (or platform_admin) runs a transaction; lookups by other services only read."""
    require_role(actor, "unit_admin", "platform_admin")
    ensure_unit_access(actor, tx.unit_id, unit_roles=("unit_admin",), global_roles=("platform_admin",))


def _ensure_reader(actor: Principal, tx: Transaction) -> None:
    ensure_unit_access(actor, tx.unit_id, unit_roles=("unit_admin",), global_roles=READ_ROLES)


async def _conclude(
    session: AsyncSession,
    tx: Transaction,
    *,
    price: Decimal,
    counterparty: dict[str, Any],
    basis: str,
    actor: str,
    now: datetime,
    contract: dict[str, Any] | None = None,
    persist: bool = True,
) -> RecordEntry:
    """The deal: record it, append `concluded`, announce `pricing.deal.concluded` (contract item 3)."""
    tx.deal = {"price": _money(price), "counterparty": counterparty, "basis": basis, "concluded_at": now.isoformat(), **(contract or {})}
    entry = await _append(session, tx, step="concluded", actor=actor, persist=persist,
                          details={"basis": basis, "price": _money(price), "counterparty": counterparty, **(contract or {})}, now=now)
    if not persist:
        return entry
    await _emit(
        session,
        "pricing.deal.concluded",
        tx.id,
        DealConcluded(
            transaction_id=tx.id,
            unit_id=tx.unit_id,
            achievement_id=tx.achievement_id,
            kind=tx.kind,
            price=price,
            counterparty=counterparty,
            basis=basis,
            concluded_at=now.isoformat(),
        ),
        now,
    )
    return entry


# --- transactions -----------------------------------------------------------------------------


async def open_transaction(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, data: TransactionCreate, now: datetime
) -> TransactionRead:
    """Open a transfer, licence or investment of an achievement of the caller's unit (PRC-1…4, OWN-13/14/15)."""
    require_role(actor, "unit_admin")
    check_method(data.method)  # PRC-3
    achievement = await _achievement(runtime, data.achievement_id)
    if achievement.get("unit_id") != actor.unit_id:
        raise NotFound("no such achievement")  # another unit's achievement is not disclosed
    check_agreement_terms(data.method, data.counterparty is not None, data.proposed_price)  # PRC-4
    appraisal = (
        Appraisal(performed=data.appraisal.performed, value=data.appraisal.value, report_reference=data.appraisal.report_reference)
        if data.appraisal
        else None
    )
    check_appraisal(data.counterparty.ownership if data.counterparty else None, appraisal)  # PRC-1, PRC-2
    if data.counterparty is not None:
        _check_party(achievement, data.counterparty)  # OWN-13/14/15
    tx = Transaction(
        id=new_id(),
        unit_id=achievement["unit_id"],
        achievement_id=data.achievement_id,
        achievement_title=str(achievement.get("title", ""))[:500],
        kind=data.kind,
        method=data.method,
        state=State.DRAFT.value,
        counterparty=data.counterparty.model_dump(mode="json") if data.counterparty else None,
        proposed_price=data.proposed_price,
        appraisal=data.appraisal.model_dump(mode="json") if data.appraisal else None,
        due_at=None,
        record_seq=0,
        created_at=now,
        created_by=actor.sub,
        version=1,
    )
    session.add(tx)
    await session.flush()
    await _append(session, tx, step="opened", actor=_actor(actor), details={
        "kind": tx.kind, "method": tx.method, "achievement_title": tx.achievement_title,
        "counterparty": tx.counterparty, "proposed_price": _money(tx.proposed_price),
    }, now=now)
    if tx.appraisal is not None:  # PRC-2: the unit's decision, recorded before any price is published
        await _append(session, tx, step="appraisal_recorded", actor=_actor(actor), details={**tx.appraisal, "required": True}, now=now)
    else:  # PRC-1: the exemption itself is evidence
        await _append(session, tx, step="appraisal_recorded", actor=_actor(actor),
                      details={"performed": False, "required": False, "basis": "PRC-1: wholly state-owned counterparty"}, now=now)
    await _emit(session, "pricing.transaction.opened", tx.id, TransactionOpened(
        transaction_id=tx.id, unit_id=tx.unit_id, achievement_id=tx.achievement_id, kind=tx.kind, method=tx.method), now)
    return transaction_read(tx, None, None, None)


async def get_transaction(session: AsyncSession, *, actor: Principal, transaction_id: str, now: datetime) -> TransactionRead:
    """A transaction with its deal once concluded, as of now: a due time-driven transition shows without being saved."""
    tx = await repository.get_transaction(session, transaction_id)
    if tx is None:
        raise NotFound()
    _ensure_reader(actor, tx)
    if tx.due_at is not None and tx.due_at <= now:
        await advance(session, tx, now, persist=False)
    return await _full_read(session, tx)


async def get_record(session: AsyncSession, *, actor: Principal, transaction_id: str, now: datetime) -> RecordRead:
    """PRC-9: the transaction's full procedural record, in order, with what a due transition would append."""
    tx = await repository.get_transaction(session, transaction_id)
    if tx is None:
        raise NotFound()
    _ensure_reader(actor, tx)
    entries = await repository.list_record_entries(session, transaction_id)
    if tx.due_at is not None and tx.due_at <= now:
        entries += await advance(session, tx, now, persist=False)
    return RecordRead(
        transaction_id=transaction_id,
        items=[RecordItem(seq=e.seq, at=e.at, step=e.step, actor=e.actor, details=e.details) for e in entries],
    )


async def publish_notice(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, transaction_id: str, expected_version: int | None, now: datetime
) -> NoticeRead:
    """PRC-4: publish the achievement's name and the agreement price for the unit's notice_days."""
    committed = await _committed(runtime, repository.get_transaction, transaction_id)
    # The unit's notice_days, looked up (if not replicated yet) before the write transaction begins.
    policy = (committed and await get_unit_policy(runtime, UNIT_POLICIES, committed.unit_id)) or UnitPolicy()
    tx = await _locked(session, transaction_id, now)
    _ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.PUBLISH_NOTICE)
    assert tx.proposed_price is not None  # PRC-4 made it mandatory for agreement pricing
    notice = Notice(
        id=new_id(), transaction_id=tx.id, unit_id=tx.unit_id, achievement_title=tx.achievement_title,
        price=tx.proposed_price, starts_at=now, ends_at=notice_ends_at(now, policy.notice_days),
        state="active", objection_count=0, version=1,
    )
    session.add(notice)
    tx.due_at = notice.ends_at
    await session.flush()
    await _append(session, tx, step="notice_published", actor=_actor(actor), details={
        "notice_id": notice.id, "achievement_title": notice.achievement_title, "price": _money(notice.price),
        "starts_at": notice.starts_at.isoformat(), "ends_at": notice.ends_at.isoformat(), "notice_days": policy.notice_days,
    }, now=now)
    await _emit(session, "pricing.notice.published", notice.id, NoticePublished(
        notice_id=notice.id, transaction_id=tx.id, unit_id=tx.unit_id, price=notice.price,
        starts_at=notice.starts_at.isoformat(), ends_at=notice.ends_at.isoformat()), now)
    return notice_read(notice)


async def get_notice(session: AsyncSession, *, notice_id: str) -> NoticeRead:
    """A public notice."""
    notice = await repository.get_notice(session, notice_id)
    if notice is None:
        raise NotFound()
    return notice_read(notice)


async def list_notices(
    session: AsyncSession, *, active: bool | None, unit_id: str | None, limit: int, cursor: str | None, now: datetime
) -> Page[NoticeRead]:
    """Public notices, optionally only those running now (PRC-4)."""
    after = decode_cursor(cursor)
    rows = await repository.list_notices(session, now=now, active=active, unit_id=unit_id,
                                         after=str(after[0]) if after else None, limit=limit)
    return page_of(rows, limit, key=lambda n: [n.id], convert=notice_read)


async def object_to_notice(
    session: AsyncSession, *, actor: Principal, notice_id: str, data: ObjectionCreate, now: datetime
) -> ObjectionRead:
    """PRC-5: anyone may object while the notice runs."""
    notice = await repository.get_notice(session, notice_id)
    if notice is None:
        raise NotFound()
    check_objection_time(now, notice.ends_at)  # PRC-5
    tx = await _locked(session, notice.transaction_id, now)
    if tx.state != State.IN_NOTICE:
        # The transaction was withdrawn during the notice: the notice no longer runs.
        raise InvalidState("this notice is no longer running", rule="PRC-5")
    objection = Objection(id=new_id(), notice_id=notice.id, reason=data.reason, contact=data.contact,
                          objector=actor.sub, received_at=now)
    session.add(objection)
    notice.objection_count += 1
    await session.flush()
    await _append(session, tx, step="objection_received", actor=_actor(actor),
                  details={"notice_id": notice.id, "objection_id": objection.id, "reason": data.reason}, now=now)
    await _emit(session, "pricing.notice.objected", notice.id,
                NoticeObjected(notice_id=notice.id, transaction_id=tx.id, unit_id=tx.unit_id), now)
    return ObjectionRead(id=objection.id, notice_id=notice.id, reason=objection.reason, received_at=now)


async def publish_listing(
    session: AsyncSession, *, actor: Principal, transaction_id: str, data: ListingCreate,
    expected_version: int | None, now: datetime,
) -> ListingRead:
    """PRC-6: after objections, list at the agreement price for 15 days; PRC-3: or list a listing draft at its price."""
    tx = await _locked(session, transaction_id, now)
    _ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.PUBLISH_LISTING)
    price = listing_price(tx.method, tx.proposed_price, data.price)
    listing = Listing(
        id=new_id(), transaction_id=tx.id, unit_id=tx.unit_id, achievement_title=tx.achievement_title,
        exchange=data.exchange, price=price, opens_at=now, closes_at=listing_closes_at(now), state="open", version=1,
    )
    session.add(listing)
    tx.due_at = listing.closes_at
    await session.flush()
    await _append(session, tx, step="listing_published", actor=_actor(actor), details={
        "listing_id": listing.id, "exchange": listing.exchange, "price": _money(price),
        "opens_at": listing.opens_at.isoformat(), "closes_at": listing.closes_at.isoformat(),
    }, now=now)
    await _emit(session, "pricing.listing.published", listing.id,
                ListingPublished(listing_id=listing.id, transaction_id=tx.id, unit_id=tx.unit_id, price=price), now)
    return listing_read(listing)


async def get_listing(session: AsyncSession, *, listing_id: str) -> ListingRead:
    """A public listing."""
    listing = await repository.get_listing(session, listing_id)
    if listing is None:
        raise NotFound()
    return listing_read(listing)


async def list_listings(
    session: AsyncSession, *, active: bool | None, unit_id: str | None, limit: int, cursor: str | None, now: datetime
) -> Page[ListingRead]:
    """Public listings, optionally only those open now (PRC-6)."""
    after = decode_cursor(cursor)
    rows = await repository.list_listings(session, now=now, active=active, unit_id=unit_id,
                                          after=str(after[0]) if after else None, limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=listing_read)


async def delist(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, listing_id: str, data: DelistingCreate, now: datetime
) -> DelistingRead:
    """PRC-7: the first delisting party takes the deal at the listing price; every later attempt is refused."""
    committed = await _committed(runtime, repository.get_listing, listing_id)
    if committed is None:
        raise NotFound()
    _check_party(await _achievement(runtime, committed.achievement_id), data.party)  # OWN-13/14/15, before writing
    listing = await repository.get_listing(session, listing_id)
    assert listing is not None  # listings are never deleted
    # The lock decides the winner: concurrent delistings queue here and re-read the state.
    tx = await _locked(session, listing.transaction_id, now)
    check_delisting_time(now, listing.closes_at)  # PRC-6
    tx.state = next_state(tx.method, tx.state, Action.DELIST)  # PRC-7: 409 unless still listed
    party = data.party.model_dump(mode="json")
    listing.state = "delisted"
    listing.delisted_by = party
    listing.delisted_at = now
    tx.due_at = None
    await _append(session, tx, step="delisted", actor=_actor(actor),
                  details={"listing_id": listing.id, "party": party, "price": _money(listing.price)}, now=now)
    await _conclude(session, tx, price=listing.price, counterparty=party, basis="delisted", actor=_actor(actor), now=now)
    await session.flush()
    return DelistingRead(listing_id=listing.id, transaction_id=tx.id, party=party, price=listing.price,
                         delisted_at=now, transaction_state=tx.state)


async def open_auction(
    session: AsyncSession, *, actor: Principal, transaction_id: str, data: AuctionCreate,
    expected_version: int | None, now: datetime,
) -> AuctionRead:
    """PRC-8: open an auction with a reserve price, taking bids until closes_at."""
    if data.closes_at.tzinfo is None:
        raise InvalidInput("closes_at needs an offset, e.g. 2030-01-01T10:00:00+08:00")
    tx = await _locked(session, transaction_id, now)
    _ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.OPEN_AUCTION)
    check_auction_terms(now, data.reserve_price, data.closes_at)
    auction = Auction(id=new_id(), transaction_id=tx.id, unit_id=tx.unit_id, reserve_price=data.reserve_price,
                      opens_at=now, closes_at=data.closes_at, state="open", bid_count=0, version=1)
    session.add(auction)
    tx.due_at = data.closes_at
    await session.flush()
    await _append(session, tx, step="auction_opened", actor=_actor(actor), details={
        "auction_id": auction.id, "reserve_price": _money(auction.reserve_price),
        "opens_at": now.isoformat(), "closes_at": auction.closes_at.isoformat(),
    }, now=now)
    return auction_read(auction)


async def get_auction(session: AsyncSession, *, auction_id: str) -> AuctionRead:
    """A public auction (without its bids)."""
    auction = await repository.get_auction(session, auction_id)
    if auction is None:
        raise NotFound()
    return auction_read(auction)


async def place_bid(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, auction_id: str, data: BidCreate, now: datetime
) -> BidRead:
    """PRC-8: a bid, taken until the auction closes."""
    committed = await _committed(runtime, repository.get_auction, auction_id)
    if committed is None:
        raise NotFound()
    check_bid(now, committed.closes_at, data.amount)  # PRC-8
    _check_party(await _achievement(runtime, committed.achievement_id), data.party)  # OWN-13/14/15, before writing
    auction = await repository.get_auction(session, auction_id)
    assert auction is not None  # auctions are never deleted
    tx = await _locked(session, auction.transaction_id, now)
    if tx.state != State.AUCTION_OPEN:
        raise InvalidState("the auction takes no more bids", rule="PRC-8")
    auction.bid_count += 1
    bid = AuctionBid(id=new_id(), auction_id=auction.id, seq=auction.bid_count, party=data.party.model_dump(mode="json"),
                     amount=data.amount, bidder=actor.sub, placed_at=now)
    session.add(bid)
    await session.flush()
    await _append(session, tx, step="bid_placed", actor=_actor(actor),
                  details={"auction_id": auction.id, "bid_id": bid.id, "seq": bid.seq, "party": bid.party,
                           "amount": _money(bid.amount)}, now=now)
    return BidRead(id=bid.id, auction_id=auction.id, seq=bid.seq, party=bid.party, amount=bid.amount, placed_at=now)


async def conclude(
    session: AsyncSession, *, actor: Principal, transaction_id: str, data: ConclusionCreate,
    expected_version: int | None, now: datetime,
) -> TransactionRead:
    """PRC-4/PRC-5: after a clear notice, or PRC-6: after an expired listing, the deal at the agreement price."""
    tx = await _locked(session, transaction_id, now)
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, tx.unit_id, unit_roles=("unit_admin",))
    check_version(tx.version, expected_version)
    basis = "notice_clear" if tx.state == State.NOTICE_CLEAR else "listing_expired"
    tx.state = next_state(tx.method, tx.state, Action.CONCLUDE)  # 409 PRC-4 / PRC-6 from any other state
    assert tx.proposed_price is not None and tx.counterparty is not None  # PRC-4 at opening
    await _conclude(session, tx, price=tx.proposed_price, counterparty=tx.counterparty, basis=basis, actor=_actor(actor),
                    now=now, contract={"contract_reference": data.contract_reference, "signed_on": data.signed_on.isoformat()})
    await session.flush()
    return await _full_read(session, tx)


async def withdraw(
    session: AsyncSession, *, actor: Principal, transaction_id: str, expected_version: int | None, now: datetime
) -> TransactionRead:
    """The unit withdraws a transaction that no third party can still take (an open listing or auction runs out)."""
    tx = await _locked(session, transaction_id, now)
    _ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.WITHDRAW)
    notice = await repository.get_notice_of(session, tx.id)
    if notice is not None and notice.state == "active":
        notice.state = "withdrawn"
    tx.due_at = None
    await _append(session, tx, step="withdrawn", actor=_actor(actor), details={}, now=now)
    await session.flush()
    return await _full_read(session, tx)


# --- challenges (PRC-10) ----------------------------------------------------------------------


async def publish_challenge(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, data: ChallengeCreate, now: datetime
) -> ChallengeRead:
    """PRC-10: an enterprise seeks technology, or a unit offers an achievement seeking a market."""
    role = challenge_rules.publisher_role(data.direction)
    require_role(actor, role)
    challenge_rules.check_market_wanted_achievement(data.direction, data.achievement_id)
    unit_id = None
    if data.direction == "market_wanted":
        achievement = await _achievement(runtime, str(data.achievement_id))
        if achievement.get("unit_id") != actor.unit_id:
            raise NotFound("no such achievement")
        unit_id = actor.unit_id
    elif data.achievement_id is not None:
        raise InvalidInput("achievement_id belongs to market_wanted challenges")
    challenge = Challenge(
        id=new_id(), direction=data.direction, title=data.title, description=data.description,
        publisher=data.publisher.model_dump(mode="json"), publisher_sub=actor.sub, unit_id=unit_id,
        achievement_id=data.achievement_id, budget=data.budget, state=challenge_rules.ChallengeState.OPEN.value,
        awarded_response_id=None, landed_on=None, landing_evidence=None, created_at=now, version=1,
    )
    session.add(challenge)
    await session.flush()
    return challenge_read(challenge)


async def get_challenge(session: AsyncSession, *, challenge_id: str) -> ChallengeRead:
    """A public challenge with its state."""
    challenge = await repository.get_challenge(session, challenge_id)
    if challenge is None:
        raise NotFound()
    return challenge_read(challenge)


async def list_challenges(
    session: AsyncSession, *, direction: str | None, state: str | None, limit: int, cursor: str | None
) -> Page[ChallengeRead]:
    """The public two-way challenge lists (PRC-10)."""
    after = decode_cursor(cursor)
    rows = await repository.list_challenges(session, direction=direction, state=state,
                                            after=str(after[0]) if after else None, limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=challenge_read)


async def respond_to_challenge(
    session: AsyncSession, *, actor: Principal, challenge_id: str, data: ChallengeResponseCreate, now: datetime
) -> ChallengeResponseRead:
    """PRC-10: an enterprise, unit or researcher takes up an open challenge (揭榜)."""
    require_role(actor, *challenge_rules.RESPONDER_ROLES)
    challenge = await repository.get_challenge(session, challenge_id, for_update=True)
    if challenge is None:
        raise NotFound()
    challenge_rules.check_open_for_responses(challenge.state)
    response = ChallengeResponse(id=new_id(), challenge_id=challenge.id, responder=data.responder.model_dump(mode="json"),
                                 proposal=data.proposal, responded_by=actor.sub, created_at=now)
    session.add(response)
    await session.flush()
    return ChallengeResponseRead.model_validate(response, from_attributes=True)


async def list_challenge_responses(session: AsyncSession, *, actor: Principal, challenge_id: str) -> Page[ChallengeResponseRead]:
    """The responses to a challenge, for its publisher (or platform_admin) to choose from."""
    challenge = await repository.get_challenge(session, challenge_id)
    if challenge is None:
        raise NotFound()
    challenge_rules.check_may_decide(caller_sub=actor.sub, publisher_sub=challenge.publisher_sub,
                                     is_platform_admin=actor.has("platform_admin"))
    rows = await repository.list_challenge_responses(session, challenge_id)
    return Page[ChallengeResponseRead](items=[ChallengeResponseRead.model_validate(r, from_attributes=True) for r in rows])


async def _decidable(session: AsyncSession, actor: Principal, challenge_id: str) -> Challenge:
    challenge = await repository.get_challenge(session, challenge_id, for_update=True)
    if challenge is None:
        raise NotFound()
    challenge_rules.check_may_decide(caller_sub=actor.sub, publisher_sub=challenge.publisher_sub,
                                     is_platform_admin=actor.has("platform_admin"))
    return challenge


async def award_challenge(
    session: AsyncSession, *, actor: Principal, challenge_id: str, data: AwardCreate, expected_version: int | None, now: datetime
) -> ChallengeRead:
    """PRC-10: the publisher awards the challenge to one response."""
    challenge = await _decidable(session, actor, challenge_id)
    check_version(challenge.version, expected_version)
    response = await repository.get_challenge_response(session, data.response_id)
    if response is None or response.challenge_id != challenge.id:
        raise NotFound("no such response to this challenge")
    challenge.state = challenge_rules.award(challenge.state).value
    challenge.awarded_response_id = response.id
    await session.flush()
    await _emit(session, "pricing.challenge.awarded", challenge.id, ChallengeAwarded(
        challenge_id=challenge.id, response_id=response.id, publisher=challenge.publisher, responder=response.responder), now)
    return challenge_read(challenge)


async def land_challenge(
    session: AsyncSession, *, actor: Principal, challenge_id: str, data: LandingCreate, expected_version: int | None, now: datetime
) -> ChallengeRead:
    """PRC-10: the awarded challenge has landed — the basis of the enterprise's post-subsidy (FIN-8)."""
    challenge = await _decidable(session, actor, challenge_id)
    check_version(challenge.version, expected_version)
    challenge.state = challenge_rules.land(challenge.state).value
    challenge.landed_on = data.landed_on
    challenge.landing_evidence = data.evidence
    response = await repository.get_challenge_response(session, str(challenge.awarded_response_id))
    await session.flush()
    await _emit(session, "pricing.challenge.landed", challenge.id, ChallengeLanded(
        challenge_id=challenge.id, landed_on=data.landed_on.isoformat(), publisher=_organisation(challenge.publisher),
        awarded_response_id=challenge.awarded_response_id,
        responder=_organisation(response.responder) if response else None), now)
    return challenge_read(challenge)


def _organisation(party: dict[str, Any]) -> dict[str, Any]:
    return {"name": party.get("name"), "credit_code": party.get("credit_code")}
