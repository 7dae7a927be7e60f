"""Pricing tables."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import ExactDecimal, UTCDateTime, Versioned, infrastructure, new_metadata
from servicekit.documents import install_document_tables
from servicekit.units import install_unit_policy_table


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)
UNIT_POLICIES = install_unit_policy_table(Base.metadata)
DOCUMENTS = install_document_tables(Base.metadata)  # DOC-1: a transaction's appraisal reports, contracts, decisions


class Transaction(Versioned, Base):
    """The aggregate: every step locks this row, so steps of one transaction are serialised."""

    __tablename__ = "transactions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30))
    counterparty: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    proposed_price: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    appraisal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    licence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # {scope, start_on, end_on}, kind license
    payment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # {mode, due_on, conditions} (OWN-9)
    technology_manager_ids: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # PRC-12
    # The instant of the next time-driven transition (notice end, listing close, auction close).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    record_seq: Mapped[int] = mapped_column(Integer, default=0)
    deal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class AchievementGuard(Base):
    """OWN-16/PRC-11: one row per achievement, locked by every opening and conclusion of its transactions,
    so conflicts among pricing's own transactions are decided one at a time (see domain/conflicts.py)."""

    __tablename__ = "achievement_guards"

    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each upsert that takes the lock


class Notice(Versioned, Base):
    """PRC-4: the public notice of an agreement price."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_title: Mapped[str] = mapped_column(String(500))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(20))  # active | clear | objected | withdrawn
    objection_count: Mapped[int] = mapped_column(Integer, default=0)


class Objection(Base):
    """PRC-5: an objection received during a notice."""

    __tablename__ = "objections"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact_email: Mapped[str | None] = mapped_column(String(300), nullable=True)
    objector: Mapped[str] = mapped_column(String(200))  # the token's sub, or "anonymous"
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    # PRC-5: anonymous objections are counted per client address (as the gateway saw it) for the rate limit.
    client_address: Mapped[str | None] = mapped_column(String(100), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_objections_client_address_received_at", "client_address", "received_at"),)


class Listing(Versioned, Base):
    """PRC-6/PRC-7: an offer on a technology market, open 15 days."""

    __tablename__ = "listings"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_title: Mapped[str] = mapped_column(String(500))
    exchange: Mapped[str] = mapped_column(String(300))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(20))  # open | delisted | expired
    delisted_by: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    delisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Auction(Versioned, Base):
    """PRC-8: an auction with a reserve price and a closing instant."""

    __tablename__ = "auctions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"), unique=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    reserve_price: Mapped[Decimal] = mapped_column(ExactDecimal)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(20))  # open | won | failed
    bid_count: Mapped[int] = mapped_column(Integer, default=0)


class AuctionBid(Base):
    """PRC-8: one bid; `seq` orders bids by arrival within the auction."""

    __tablename__ = "auction_bids"
    __table_args__ = (UniqueConstraint("auction_id", "seq"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    auction_id: Mapped[str] = mapped_column(ForeignKey("auctions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    party: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    bidder: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecordEntry(Base):
    """PRC-9: one step of a transaction's procedural record — inserted once, never changed."""

    __tablename__ = "record_entries"
    __table_args__ = (Index("ix_record_entries_transaction_seq", "transaction_id", "seq", unique=True),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(ForeignKey("transactions.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    step: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Challenge(Versioned, Base):
    """PRC-10: a two-way challenge (揭榜挂帅)."""

    __tablename__ = "challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    publisher: Mapped[dict[str, Any]] = mapped_column(JSON)
    publisher_sub: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    achievement_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    budget: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    field: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)  # the industry field
    region: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    closes_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # responses through this day (Asia/Shanghai)
    state: Mapped[str] = mapped_column(String(20))  # open | awarded | landed ("closed" is derived from closes_on)
    awarded_response_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    landed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    landing_evidence: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChallengeResponse(Base):
    """PRC-10: a party taking up a challenge (揭榜)."""

    __tablename__ = "challenge_responses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    challenge_id: Mapped[str] = mapped_column(ForeignKey("challenges.id"), index=True)
    responder: Mapped[dict[str, Any]] = mapped_column(JSON)
    proposal: Mapped[str] = mapped_column(Text)
    responded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)



# PRC-10 search over challenges (`q`), built by the migration, not by these models: an FTS5 table with
# the trigram tokenizer on SQLite (kept in step by triggers), a pg_trgm GIN index on PostgreSQL.
CHALLENGE_SEARCH_TABLE = "challenges_search"
CHALLENGE_SEARCH_INDEX = "ix_challenges_search_trgm"
Base.metadata.info["unmanaged_prefixes"] = (CHALLENGE_SEARCH_TABLE, CHALLENGE_SEARCH_INDEX)
