"""Database plumbing: engines for SQLite and PostgreSQL, exact types, the infrastructure tables."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Insert,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    event,
    inspect,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped, Session, declared_attr, make_transient_to_detached, mapped_column, object_session
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import await_
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty, Full

from servicekit import sqlite_inline  # noqa: F401  (registers sqlite+inline)

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


class Versioned:
    """An aggregate with a `version` (its ETag), raised by one in each transaction that changes the row.

    Nobody writes `version += 1`: before a flush, every changed aggregate not yet raised in this
    transaction gets its new version (so one request is one version, however often it flushes),
    and the UPDATE names the version it read (`version_id_col`), so a lost update fails instead of
    overwriting. `If-Match` is checked against `version` before the change (`errors.check_version`).
    """

    version: Mapped[int] = mapped_column(Integer, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        table: Table = cls.__table__  # type: ignore[attr-defined]  # the mapped subclass has one
        return {"version_id_col": table.c.version, "version_id_generator": False}


_NEW_VERSIONS = "kezhuan.new_versions"
"""session.info: the aggregates (their instance states) given a new version in the current transaction."""


def new_version(entity: Versioned) -> None:
    """A new version for a change the row itself does not show (a child record was added to the aggregate)."""
    session = object_session(entity)
    raised = session.info.setdefault(_NEW_VERSIONS, set()) if session is not None else set()
    state = inspect(entity)
    if state not in raised:
        entity.version = entity.version + 1
        raised.add(state)


@event.listens_for(Session, "before_flush")
def _raise_versions(session: Session, flush_context: Any, instances: Any) -> None:
    raised = session.info.setdefault(_NEW_VERSIONS, set())
    raised.update(inspect(entity) for entity in session.new if isinstance(entity, Versioned))  # born at 1 here
    for entity in session.dirty:
        if isinstance(entity, Versioned) and inspect(entity) not in raised and session.is_modified(entity):
            entity.version = entity.version + 1
            raised.add(inspect(entity))


@event.listens_for(Session, "after_transaction_end")
def _forget_versions(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_NEW_VERSIONS, None)


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


class _FirstComeFirstServedQueue(AsyncAdaptedQueue):
    """The pool's queue of idle connections, handing a returned connection to the longest waiter.

    SQLAlchemy's asyncio queue lets a newcomer take a connection that was just returned while the
    waiter it was meant for is still waking up; the waiter then queues again at the back. With one
    SQLite connection and 64 concurrent reads that starved some requests for seconds (bench
    scenario 1: p99 2.4 s at a p50 of 87 ms).
    """

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._idle: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        return len(self._idle)

    def put_nowait(self, item: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._idle.append(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._idle:
            raise Empty()
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self._idle or not block:
            return self.get_nowait()
        return await_(self._wait(timeout))

    async def _wait(self, timeout: float | None) -> Any:
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())  # handed over just as we gave up: pass it on
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise Empty() from exc
            raise


class FirstComeFirstServedPool(AsyncAdaptedQueuePool):
    """An asyncio connection pool whose waiters are served in arrival order."""

    _queue_class = _FirstComeFirstServedQueue


logging.getLogger(f"{__name__}.{FirstComeFirstServedPool.__name__}").setLevel(logging.WARNING)  # as SQLAlchemy's pools


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, pool_size: int = 4, max_overflow: int = 4) -> AsyncEngine:
    """An async engine; on SQLite one connection and `BEGIN IMMEDIATE`, so writers queue, never fail.

    SQLite statements run on the event loop (`servicekit.sqlite_inline`), whatever driver the URL
    names; waiting for another process's write lock is an async back-off, not a blocked loop.

    On PostgreSQL the pool is per process: replicas × services × pool must stay under the
    server's max_connections (100 by default), so keep it small on a 2-core machine.
    """
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return create_async_engine(
            make_url(url).set(drivername="sqlite+inline"),
            poolclass=FirstComeFirstServedPool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
        )
    engine = create_async_engine(url, poolclass=FirstComeFirstServedPool, pool_size=pool_size, max_overflow=max_overflow)
    _ping_when_idle(engine)
    return engine


IDLE_BEFORE_PING = 5.0
"""Seconds a pooled PostgreSQL connection may rest before it is pinged at checkout."""


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pre-ping only connections that rested: a busy connection proves itself with every statement.

    A ping on every checkout (`pool_pre_ping`) was one round trip of six per API write (bench
    scenario 2). A connection that broke while in use fails its request, and SQLAlchemy then
    replaces every pooled connection made before; one that broke while resting (a restarted
    server) is caught here and replaced before anyone uses it.
    """
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _resting(dbapi_connection: Any, record: Any) -> None:
        record.info["resting_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        resting_since = record.info.pop("resting_since", None)
        if resting_since is None or time.monotonic() - resting_since < IDLE_BEFORE_PING:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise InvalidatePoolError(f"a resting connection failed its ping: {error}") from error


READ_POOL_SIZE = 4
"""SQLite read connections per process: WAL lets them read alongside the writer and each other."""


def create_read_engine(url: str, write_engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads (GET): transactions that never take SQLite's write lock.

    On SQLite a separate pool of `query_only` connections that begin deferred (WAL readers see the
    last commit and never wait for the writer); an in-memory database has only the writer's
    connection, so it reads there. On PostgreSQL the writer's pool with READ ONLY transactions.
    """
    if is_sqlite(url):
        if url.split("///", 1)[-1] in ("", ":memory:"):
            return write_engine
        return create_async_engine(
            make_url(url).set(drivername="sqlite+inline"),
            poolclass=FirstComeFirstServedPool,
            pool_size=READ_POOL_SIZE,
            max_overflow=0,
            pool_timeout=60,
            connect_args={"read_only": True},
        )
    return write_engine.execution_options(postgresql_readonly=True)


def create_sessionmaker(engine: AsyncEngine, **options: Any) -> async_sessionmaker:
    """Sessions that keep loaded objects usable after commit."""
    options.setdefault("autoflush", True)
    return async_sessionmaker(engine, expire_on_commit=False, **options)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    """Read-only sessions: never flushed, so objects changed in memory to derive a state stay unsaved."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@cache
def _insert_plan(entity_class: type) -> tuple[Insert, tuple[tuple[str, str], ...], tuple[tuple[str, Any], ...]]:
    mapper: Any = inspect(entity_class)  # a Mapper; its local_table is the Table to insert into
    columns = tuple((attr.key, attr.columns[0].key) for attr in mapper.column_attrs)
    defaults = []  # what the row holds for an attribute left unset: its scalar default, else NULL
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if column.default is not None and column.default.is_scalar:
            defaults.append((attr.key, column.default.arg))
        elif column.default is None and column.server_default is None and not column.primary_key:
            defaults.append((attr.key, None))
    return mapper.local_table.insert(), columns, tuple(defaults)


async def insert_new(session: Any, entity: Any) -> None:
    """Insert a new mapped entity with one reused Core INSERT instead of the unit of work, and keep it in the session.

    For hot write paths (an ORM flush cost ≈ 0.2 ms of an achievement registration's ≈ 1.7 ms, bench
    scenario 2). Unset attributes take their column's scalar default (or None) first, so the entity
    is complete; then it joins the session as persistent, so later changes to it are saved like any
    loaded object's. Constraint violations raise IntegrityError at once, as a flush would.
    """
    statement, columns, defaults = _insert_plan(entity.__class__)
    values = entity.__dict__
    for key, default in defaults:
        if key not in values:
            setattr(entity, key, default)
    await session.execute(statement, {column: values[key] for key, column in columns if key in values})
    make_transient_to_detached(entity)
    session.add(entity)
