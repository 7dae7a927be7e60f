"""All pricing queries. The procedural record has inserts and selects only (PRC-9)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import column, func, or_, select, table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from pricing.models import (
    CHALLENGE_SEARCH_TABLE,
    AchievementGuard,
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

SWEEP_BATCH = 100


async def _one(session: AsyncSession, statement: Any, for_update: bool) -> Any:
    if for_update:
        # Re-read under the lock: a concurrent step may have committed since this session last looked.
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_transaction(session: AsyncSession, transaction_id: str, *, for_update: bool = False) -> Transaction | None:
    return await _one(session, select(Transaction).where(Transaction.id == transaction_id), for_update)


CLOSED_STATES = ("withdrawn", "auction_failed")  # transactions that claim nothing of their achievement any more


async def lock_achievement(session: AsyncSession, achievement_id: str) -> None:
    """OWN-16/PRC-11: take the achievement's guard row (created on first use) until the transaction ends.

    One upsert both creates and locks the row, on PostgreSQL and SQLite alike, so openings and
    conclusions of one achievement's transactions queue here and each sees the ones before it.
    """
    insert = (postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert)(AchievementGuard)
    statement = insert.values(achievement_id=achievement_id, version=1).on_conflict_do_update(
        index_elements=[AchievementGuard.achievement_id], set_={"version": AchievementGuard.version + 1}
    )
    await session.execute(statement)


async def list_claims(session: AsyncSession, achievement_id: str) -> list[Transaction]:
    """The achievement's transactions that are open or concluded (read under its guard)."""
    statement = select(Transaction).where(Transaction.achievement_id == achievement_id, Transaction.state.not_in(CLOSED_STATES))
    return list((await session.execute(statement)).scalars())


async def list_due_auctions(session: AsyncSession, now: datetime) -> list[tuple[str, str]]:
    """(transaction id, achievement id) of auctions whose close is due: their deals need a rights lookup first."""
    statement = (
        select(Transaction.id, Transaction.achievement_id)
        .where(Transaction.state == "auction_open", Transaction.due_at.is_not(None), Transaction.due_at <= now)
        .order_by(Transaction.due_at, Transaction.id)
        .limit(SWEEP_BATCH)
    )
    return [(row[0], row[1]) for row in (await session.execute(statement)).all()]


async def count_anonymous_objections(session: AsyncSession, client_address: str, since: datetime) -> int:
    """PRC-5: anonymous objections received from one client address since an instant."""
    statement = select(func.count()).select_from(Objection).where(
        Objection.anonymous.is_(True), Objection.client_address == client_address, Objection.received_at > since
    )
    return int((await session.execute(statement)).scalar_one())


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


TRIGRAM = 3  # the FTS5 trigram tokenizer indexes 3-character sequences
SEARCH = table(CHALLENGE_SEARCH_TABLE, column("challenge_id"))  # SQLite only: built by the migration


def _matching(session: AsyncSession, statement: Any, terms: list[str]) -> Any:
    """PRC-10 `q`: every term occurs in the title or the description (case-insensitive substring).

    SQLite: the FTS5 trigram table answers a term of 3+ characters from its index (MATCH of the
    term as a phrase) and a shorter one by LIKE over its rows (so a two-character Chinese word
    such as 催化 still finds 催化剂); PostgreSQL: ILIKE, served by the pg_trgm GIN index for 3+
    characters and by a scan for shorter terms. Terms never contain LIKE wildcards (see `search_terms`).
    """
    if session.bind.dialect.name == "sqlite":
        for n, term in enumerate(terms):
            if len(term) >= TRIGRAM:
                phrase = '"' + term.replace('"', '""') + '"'
                condition = text(f"{CHALLENGE_SEARCH_TABLE} MATCH :q{n}").bindparams(**{f"q{n}": phrase})
            else:
                condition = text(f"title LIKE :p{n} OR description LIKE :p{n}").bindparams(**{f"p{n}": f"%{term}%"})
            found = select(SEARCH.c.challenge_id).where(condition)
            statement = statement.where(Challenge.id.in_(found))
        return statement
    for term in terms:
        statement = statement.where((Challenge.title + " " + Challenge.description).ilike(f"%{term}%"))
    return statement


async def list_challenges(
    session: AsyncSession, *, direction: str | None, state: str | None, field: str | None, region: str | None,
    terms: list[str], today: date, after: str | None, limit: int,
) -> list[Challenge]:
    """PRC-10: the public lists; `state` open/closed is read against today's date (closed is derived)."""
    statement = select(Challenge).order_by(Challenge.id).limit(limit + 1)
    if direction is not None:
        statement = statement.where(Challenge.direction == direction)
    if state == "open":
        statement = statement.where(Challenge.state == "open", or_(Challenge.closes_on.is_(None), Challenge.closes_on >= today))
    elif state == "closed":
        statement = statement.where(Challenge.state == "open", Challenge.closes_on < today)
    elif state is not None:
        statement = statement.where(Challenge.state == state)
    if field is not None:
        statement = statement.where(Challenge.field == field)
    if region is not None:
        statement = statement.where(Challenge.region == region)
    if terms:
        statement = _matching(session, statement, terms)
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
