"""Database plumbing: engines for SQLite and PostgreSQL, exact types, the infrastructure tables."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
"""An auto-increment key: SQLite only auto-increments INTEGER PRIMARY KEY."""


class UTCDateTime(TypeDecorator):
    """Timezone-aware timestamps on every backend (SQLite keeps no offset, so store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ExactDecimal(TypeDecorator):
    """Money and shares: NUMERIC(18, 2) on PostgreSQL, text on SQLite (whose NUMERIC is a float)."""

    impl = Numeric(18, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(18, 2, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Any) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal("0.01"))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


def new_metadata() -> MetaData:
    """A service's own metadata with the naming convention and the infrastructure tables."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    install_infrastructure_tables(metadata)
    return metadata


@dataclass(frozen=True)
class InfrastructureTables:
    outbox: Table
    inbox: Table
    idempotency: Table
    clock: Table
    audit: Table


def install_infrastructure_tables(metadata: MetaData) -> InfrastructureTables:
    """Outbox, inbox, idempotency keys, the persisted test clock and the audit log, in the service's own database."""
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", BigIntPK, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("type", String(128), nullable=False),
        Column("nats_subject", String(160), nullable=False),
        Column("envelope", LargeBinary, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
        Column("claimed_until", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Index("ix_outbox_pending", "published_at", "seq"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(128), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(128), nullable=False),
        Column("received_at", UTCDateTime, nullable=False),
    )
    idempotency = Table(
        "idempotency_keys",
        metadata,
        Column("principal", String(200), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("etag", String(40), nullable=True),
        Column("created_at", UTCDateTime, nullable=False),
    )
    clock = Table(
        "test_clock",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("instant", UTCDateTime, nullable=True),
        Column("set_at", UTCDateTime, nullable=True),
    )
    audit = Table(
        "audit_log",
        metadata,
        Column("seq", BigIntPK, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(128), nullable=False),
        Column("aggregate_id", String(200), nullable=False),
        Column("actor", String(200), nullable=True),
        Column("request_id", String(200), nullable=True),
        Column("payload_hash", String(64), nullable=False),
        Column("recorded_at", UTCDateTime, nullable=False),
        # Set by the sealer (servicekit.audit): the place in the chain and its links.
        Column("position", BigInteger, nullable=True, unique=True),
        Column("prev_hash", String(64), nullable=True),
        Column("entry_hash", String(64), nullable=True),
    )
    return InfrastructureTables(outbox, inbox, idempotency, clock, audit)


def infrastructure(metadata: MetaData) -> InfrastructureTables:
    """The infrastructure tables of a metadata made by `new_metadata()`."""
    tables = metadata.tables
    return InfrastructureTables(
        tables["outbox"], tables["inbox"], tables["idempotency_keys"], tables["test_clock"], tables["audit_log"]
    )


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, pool_size: int = 4, max_overflow: int = 4) -> AsyncEngine:
    """An async engine; on SQLite one connection and `BEGIN IMMEDIATE`, so writers queue, never fail.

    On PostgreSQL the pool is per process: replicas × services × pool must stay under the
    server's max_connections (100 by default), so keep it small on a 2-core machine.
    """
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)

        @event.listens_for(engine.sync_engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA busy_timeout=60000",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
            ):
                cursor.execute(pragma)
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # Take the write lock up front: a read-then-write transaction can never deadlock,
            # and two processes (replicas, relays) serialise on the file lock.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
