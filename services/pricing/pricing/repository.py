"""All pricing queries. The procedural record has inserts and selects only (PRC-9)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from pricing.models import (
    Auction,
    AuctionBid,
    Challenge,
    ChallengeResponse,
    Listing,
    Notice,
    RecordEntry,
    Transaction,
)

SWEEP_BATCH = 100


async def _one(session: AsyncSession, statement: Any, for_update: bool) -> Any:
    if for_update:
        # Re-read under the lock: a concurrent step may have committed since this session last looked.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_transaction(session: AsyncSession, transaction_id: str, *, for_update: bool = False) -> Transaction | None:
    return await _one(session, select(Transaction).where(Transaction.id == transaction_id), for_update)


async def list_due_transactions(session: AsyncSession, now: datetime) -> list[Transaction]:
    """Transactions whose time-driven transition is due, locked; rows another replica holds are skipped."""
    statement = (
        select(Transaction)
        .where(Transaction.due_at.is_not(None), Transaction.due_at <= now)
        .order_by(Transaction.due_at, Transaction.id)
        .limit(SWEEP_BATCH)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(statement)).scalars())


async def get_notice(session: AsyncSession, notice_id: str) -> Notice | None:
    return await _one(session, select(Notice).where(Notice.id == notice_id), False)


async def get_notice_of(session: AsyncSession, transaction_id: str) -> Notice | None:
    return await _one(session, select(Notice).where(Notice.transaction_id == transaction_id), False)


async def list_notices(
    session: AsyncSession, *, now: datetime, active: bool | None, unit_id: str | None, after: str | None, limit: int
) -> list[Notice]:
    statement = select(Notice).order_by(Notice.id).limit(limit + 1)
    if active is True:
        statement = statement.where(Notice.state == "active", Notice.ends_at > now)
    elif active is False:
        statement = statement.where((Notice.state != "active") | (Notice.ends_at <= now))
    if unit_id is not None:
        statement = statement.where(Notice.unit_id == unit_id)
    if after is not None:
        statement = statement.where(Notice.id > after)
    return list((await session.execute(statement)).scalars())


async def get_listing(session: AsyncSession, listing_id: str) -> Listing | None:
    return await _one(session, select(Listing).where(Listing.id == listing_id), False)


async def get_listing_of(session: AsyncSession, transaction_id: str) -> Listing | None:
    return await _one(session, select(Listing).where(Listing.transaction_id == transaction_id), False)


async def list_listings(
    session: AsyncSession, *, now: datetime, active: bool | None, unit_id: str | None, after: str | None, limit: int
) -> list[Listing]:
    statement = select(Listing).order_by(Listing.id).limit(limit + 1)
    if active is True:
        statement = statement.where(Listing.state == "open", Listing.closes_at > now)
    elif active is False:
        statement = statement.where((Listing.state != "open") | (Listing.closes_at <= now))
    if unit_id is not None:
        statement = statement.where(Listing.unit_id == unit_id)
    if after is not None:
        statement = statement.where(Listing.id > after)
    return list((await session.execute(statement)).scalars())


async def get_auction(session: AsyncSession, auction_id: str) -> Auction | None:
    return await _one(session, select(Auction).where(Auction.id == auction_id), False)


async def get_auction_of(session: AsyncSession, transaction_id: str) -> Auction | None:
    return await _one(session, select(Auction).where(Auction.transaction_id == transaction_id), False)


async def list_bids(session: AsyncSession, auction_id: str) -> list[AuctionBid]:
    statement = select(AuctionBid).where(AuctionBid.auction_id == auction_id).order_by(AuctionBid.seq)
    return list((await session.execute(statement)).scalars())


async def insert_record_entry(session: AsyncSession, entry: RecordEntry) -> None:
    """PRC-9: the only write the record knows."""
    session.add(entry)
    await session.flush()


async def list_record_entries(session: AsyncSession, transaction_id: str) -> list[RecordEntry]:
    statement = select(RecordEntry).where(RecordEntry.transaction_id == transaction_id).order_by(RecordEntry.seq)
    return list((await session.execute(statement)).scalars())


async def get_challenge(session: AsyncSession, challenge_id: str, *, for_update: bool = False) -> Challenge | None:
    return await _one(session, select(Challenge).where(Challenge.id == challenge_id), for_update)


async def list_challenges(
    session: AsyncSession, *, direction: str | None, state: str | None, after: str | None, limit: int
) -> list[Challenge]:
    statement = select(Challenge).order_by(Challenge.id).limit(limit + 1)
    if direction is not None:
        statement = statement.where(Challenge.direction == direction)
    if state is not None:
        statement = statement.where(Challenge.state == state)
    if after is not None:
        statement = statement.where(Challenge.id > after)
    return list((await session.execute(statement)).scalars())


async def get_challenge_response(session: AsyncSession, response_id: str) -> ChallengeResponse | None:
    return await _one(session, select(ChallengeResponse).where(ChallengeResponse.id == response_id), False)


async def list_challenge_responses(session: AsyncSession, challenge_id: str) -> list[ChallengeResponse]:
    statement = (
        select(ChallengeResponse)
        .where(ChallengeResponse.challenge_id == challenge_id)
        .order_by(ChallengeResponse.created_at, ChallengeResponse.id)
    )
    return list((await session.execute(statement)).scalars())
