"""Listings on a technology market (PRC-3, PRC-6) and delistings (PRC-7, PRC-11). Load → decide → save → outbox."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import ListingPublished
from pricing import clients, deals, repository
from pricing.domain.transactions import Action, check_delisting_time, listing_closes_at, listing_price, next_state
from pricing.models import Listing
from pricing.schemas import DelistingCreate, DelistingRead, ListingCreate, ListingRead
from pricing.views import listing_read
from servicekit.auth import Principal
from servicekit.errors import NotFound, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of

if TYPE_CHECKING:
    from servicekit.app import Runtime


async def publish_listing(
    session: AsyncSession, *, actor: Principal, transaction_id: str, data: ListingCreate,
    expected_version: int | None, now: datetime,
) -> ListingRead:
    """PRC-6: after objections, list at the agreement price for 15 days; PRC-3: or list a listing draft at its price."""
    tx = await deals.locked(session, transaction_id, now)
    deals.ensure_writer(actor, tx)
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
    await deals.append_step(session, tx, step="listing_published", actor=actor.sub, details={
        "listing_id": listing.id, "exchange": listing.exchange, "price": deals.money(price),
        "opens_at": listing.opens_at.isoformat(), "closes_at": listing.closes_at.isoformat(),
    }, now=now)
    await deals.emit_event(session, "pricing.listing.published", listing.id,
                           ListingPublished(listing_id=listing.id, transaction_id=tx.id, unit_id=tx.unit_id, price=price), now)
    return listing_read(listing, now)


async def get_listing(session: AsyncSession, *, listing_id: str, now: datetime) -> ListingRead:
    """A public listing."""
    listing = await repository.get_listing(session, listing_id)
    if listing is None:
        raise NotFound()
    return listing_read(listing, now)


async def list_listings(
    session: AsyncSession, *, active: bool | None, unit_id: str | None, limit: int, cursor: str | None, now: datetime
) -> Page[ListingRead]:
    """Public listings, optionally only those open now (PRC-6)."""
    after = decode_cursor(cursor)
    rows = await repository.list_listings(session, now=now, active=active, unit_id=unit_id,
                                          after=str(after[0]) if after else None, limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=lambda row: listing_read(row, now))


async def _transaction_and_achievement(runtime: "Runtime", listing_id: str) -> tuple[str, str]:
    """The listing's transaction and achievement, read before the write transaction (for the lookups it needs)."""
    async with runtime.read_sessions() as session:
        listing = await repository.get_listing(session, listing_id)
        tx = await repository.get_transaction(session, listing.transaction_id) if listing else None
        if tx is None:
            raise NotFound()
        return tx.id, tx.achievement_id


async def delist(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, listing_id: str, data: DelistingCreate, now: datetime
) -> DelistingRead:
    """PRC-7: the first delisting party takes the deal at the listing price; every later attempt is refused."""
    transaction_id, achievement_id = await _transaction_and_achievement(runtime, listing_id)
    holding = await clients.holding(runtime, achievement_id)  # before the write transaction
    holding.check_party(data.party.kind, data.party.overseas)  # OWN-13/14/15
    # The lock decides the winner: concurrent delistings queue here and re-read the state.
    tx = await deals.locked(session, transaction_id, now)
    listing = await repository.get_listing(session, listing_id)
    assert listing is not None
    check_delisting_time(now, listing.closes_at)  # PRC-6
    tx.state = next_state(tx.method, tx.state, Action.DELIST)  # PRC-7: 409 unless still listed
    await deals.check_conclusion(session, tx, holding.rights)  # PRC-11
    party = data.party.model_dump(mode="json")
    listing.state = "delisted"
    listing.delisted_by = party
    listing.delisted_at = now
    tx.due_at = None
    await deals.append_step(session, tx, step="delisted", actor=actor.sub,
                            details={"listing_id": listing.id, "party": party, "price": deals.money(listing.price)}, now=now)
    await deals.conclude_deal(session, tx, price=listing.price, counterparty=party, basis="delisted", actor=actor.sub, now=now)
    await session.flush()
    return DelistingRead(listing_id=listing.id, transaction_id=tx.id, party=party, price=listing.price,
                         delisted_at=now, transaction_state=tx.state)
