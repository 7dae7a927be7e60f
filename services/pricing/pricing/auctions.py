"""Auctions (PRC-8): open one, take bids until it closes; the close (in `deals.advance`) concludes the deal
with the highest valid bid, checked against what the unit still holds (PRC-11). Load → decide → save → outbox."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from pricing import clients, deals, repository
from pricing.domain.transactions import Action, State, check_auction_terms, check_bid, next_state
from pricing.models import Auction, AuctionBid
from pricing.schemas import AuctionCreate, AuctionRead, BidCreate, BidRead
from pricing.views import auction_read
from servicekit.auth import Principal
from servicekit.errors import InvalidInput, InvalidState, NotFound, check_version
from servicekit.outbox import new_id

if TYPE_CHECKING:
    from servicekit.app import Runtime


async def open_auction(
    session: AsyncSession, *, actor: Principal, transaction_id: str, data: AuctionCreate,
    expected_version: int | None, now: datetime,
) -> AuctionRead:
    """PRC-8: open an auction with a reserve price, taking bids until closes_at."""
    if data.closes_at.tzinfo is None:
        raise InvalidInput("closes_at needs an offset, e.g. 2030-01-01T10:00:00+08:00")
    tx = await deals.locked(session, transaction_id, now)
    deals.ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.OPEN_AUCTION)
    check_auction_terms(now, data.reserve_price, data.closes_at)
    auction = Auction(id=new_id(), transaction_id=tx.id, unit_id=tx.unit_id, reserve_price=data.reserve_price,
                      opens_at=now, closes_at=data.closes_at, state="open", bid_count=0, version=1)
    session.add(auction)
    tx.due_at = data.closes_at
    await session.flush()
    await deals.append_step(session, tx, step="auction_opened", actor=actor.sub, details={
        "auction_id": auction.id, "reserve_price": deals.money(auction.reserve_price),
        "opens_at": now.isoformat(), "closes_at": auction.closes_at.isoformat(),
    }, now=now)
    return auction_read(auction)


async def get_auction(session: AsyncSession, *, auction_id: str) -> AuctionRead:
    """A public auction (without its bids)."""
    auction = await repository.get_auction(session, auction_id)
    if auction is None:
        raise NotFound()
    return auction_read(auction)


async def _auction_facts(runtime: "Runtime", auction_id: str) -> tuple[str, str, datetime]:
    """The auction's transaction, achievement and close, read before the write transaction (for the lookups)."""
    async with runtime.read_sessions() as session:
        auction = await repository.get_auction(session, auction_id)
        tx = await repository.get_transaction(session, auction.transaction_id) if auction else None
        if auction is None or tx is None:
            raise NotFound()
        return tx.id, tx.achievement_id, auction.closes_at


async def place_bid(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, auction_id: str, data: BidCreate, now: datetime
) -> BidRead:
    """PRC-8: a bid, taken until the auction closes."""
    transaction_id, achievement_id, closes_at = await _auction_facts(runtime, auction_id)
    check_bid(now, closes_at, data.amount)  # PRC-8
    holding = await clients.holding(runtime, achievement_id)  # before the write transaction
    holding.check_party(data.party.kind, data.party.overseas)  # OWN-13/14/15
    tx = await deals.locked(session, transaction_id, now, holding.rights)
    if tx.state != State.AUCTION_OPEN:
        raise InvalidState("the auction takes no more bids", rule="PRC-8")
    auction = await repository.get_auction(session, auction_id)
    assert auction is not None
    auction.bid_count += 1
    bid = AuctionBid(id=new_id(), auction_id=auction.id, seq=auction.bid_count, party=data.party.model_dump(mode="json"),
                     amount=data.amount, bidder=actor.sub, placed_at=now)
    session.add(bid)
    await session.flush()
    await deals.append_step(session, tx, step="bid_placed", actor=actor.sub, details={
        "auction_id": auction.id, "bid_id": bid.id, "seq": bid.seq, "party": bid.party, "amount": deals.money(bid.amount),
    }, now=now)
    return BidRead(id=bid.id, auction_id=auction.id, seq=bid.seq, party=bid.party, amount=bid.amount, placed_at=now)
