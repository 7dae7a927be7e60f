"""Transactional outbox: events are rows written in the business transaction, relayed to JetStream."""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Insert, Table, and_, bindparam, event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from contracts.envelope import CloudEvent, subject_for
from servicekit import audit, tracing
from servicekit.clock import real_now
from servicekit.context import request_id_var, traceparent_var
from servicekit.db import InfrastructureTables

log = logging.getLogger("kezhuan.outbox")

CLAIM_LEASE = timedelta(seconds=5)
"""A relay killed mid-batch holds its rows this long; short enough that no row waits 10 s (a
republish after a lease ran out is de-duplicated by JetStream)."""
BATCH = 200
PUBLISH_TIMEOUT = 2.0
"""Seconds a batch waits for JetStream's acknowledgements before its unacknowledged rows count as failed."""


RELAY_KEY = "outbox_hand_over"
"""`session.info` key of the running relay's `hand_over`; set on a service's sessions (see `emit`)."""
_PENDING_KEY = "outbox_pending"


def new_id() -> str:
    """An opaque id for resources and events."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An outbox row as the relay publishes it."""

    event_id: str
    nats_subject: str
    envelope: bytes


class OutboxSession(Session):
    """A session that hands the events it committed straight to its process's relay.

    Rows written in a transaction or savepoint that rolls back are forgotten with it; a root
    commit passes the rest to `session.info[RELAY_KEY]`.
    """


@event.listens_for(OutboxSession, "after_soft_rollback")
def _forget_rolled_back_savepoint(session: Session, previous: SessionTransaction) -> None:
    pending = session.info.get(_PENDING_KEY)
    if pending and previous.nested:
        session.info[_PENDING_KEY] = [(row, within) for row, within in pending if not _inside(within, previous)]


@event.listens_for(OutboxSession, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # A root transaction ends after its commit handed its rows over; anything left was rolled back
    # or discarded by close(), and must never reach the relay.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING_KEY, None)


def _inside(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(OutboxSession, "after_commit")
def _hand_over_committed(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released; its rows commit (or roll back) with the enclosing transaction
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        session.info[RELAY_KEY]([row for row, _ in pending])


@cache
def _insert(table: Table) -> Insert:
    """One INSERT per table, reused: building `insert().values(...)` per event was a tenth of a write's CPU."""
    return table.insert()


_OUTBOX_COLUMNS = ("event_id", "type", "nats_subject", "envelope", "created_at", "claimed_until")
_AUDIT_COLUMNS = ("event_id", "event_type", "aggregate_id", "actor", "request_id", "payload_hash", "recorded_at")


@cache
def _outbox_and_audit_insert(outbox: Table, audit_log: Table) -> Insert:
    """`WITH new_outbox_row AS (INSERT INTO outbox …) INSERT INTO audit_log …` (PostgreSQL), one set of binds."""
    outbox_row = outbox.insert().values({name: bindparam(name) for name in _OUTBOX_COLUMNS}).cte("new_outbox_row")
    return audit_log.insert().values({name: bindparam(name) for name in _AUDIT_COLUMNS}).add_cte(outbox_row)


async def emit(
    session: AsyncSession,
    tables: InfrastructureTables,
    *,
    source: str,
    event_type: str,
    subject: str,
    data: BaseModel | dict[str, Any],
    at: datetime,
) -> str:
    """Append an event to the outbox and the audit log in the caller's transaction; published iff that commits.

    In a service's own sessions the row is born claimed by this process's relay, which receives it
    from memory on commit and publishes at once (no claim transaction, no wait for the database
    connection). If the process dies first, the claim runs out and any relay publishes it.
    """
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    event = CloudEvent(
        id=new_id(),
        source=f"/kezhuan/{source}",
        type=event_type,
        time=at,
        subject=subject,
        requestid=request_id_var.get(),
        traceparent=traceparent_var.get(),
        data=payload,
    )
    envelope = orjson.dumps(event.model_dump(mode="json", exclude_none=True))
    nats_subject = subject_for(event_type)
    created_at = real_now()
    handed_over = RELAY_KEY in session.info
    row = {
        "event_id": event.id,
        "type": event_type,
        "nats_subject": nats_subject,
        "envelope": envelope,
        "created_at": created_at,
        "claimed_until": created_at + CLAIM_LEASE if handed_over else None,
    }
    audit_row = audit.entry(
        session, event_id=event.id, event_type=event_type, aggregate_id=subject, request_id=event.requestid,
        envelope=envelope,
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        # One round trip for both rows (a data-modifying CTE): on PostgreSQL every statement of
        # an API write is a round trip, and there were five (bench scenario 2).
        await session.execute(_outbox_and_audit_insert(tables.outbox, tables.audit), {**row, **audit_row})
    else:
        await session.execute(_insert(tables.outbox), row)
        await session.execute(_insert(tables.audit), audit_row)
    if handed_over:
        sync = session.sync_session
        session.info.setdefault(_PENDING_KEY, []).append(
            (Outgoing(event.id, nats_subject, envelope), sync.get_nested_transaction() or sync.get_transaction())
        )
    return event.id


class EventEmitter:
    """A service's one way to emit: bound to its name (the CloudEvents source) and its outbox tables."""

    __slots__ = ("source", "tables")

    def __init__(self, source: str, tables: InfrastructureTables) -> None:
        self.source = source
        self.tables = tables

    async def __call__(
        self, session: AsyncSession, event_type: str, subject: str, data: BaseModel | dict[str, Any], now: datetime
    ) -> str:
        """Emit `event_type` about `subject` in the session's transaction (see `emit`); returns the event id."""
        return await emit(session, self.tables, source=self.source, event_type=event_type, subject=subject, data=data, at=now)


class OutboxRelay:
    """Publishes committed outbox rows with `Nats-Msg-Id` = event id; safe with several replicas.

    Rows committed in this process arrive through `hand_over` and are published at once; they are
    marked sent by a separate loop, so marking (which waits for the database) never delays the
    next publish. Every `poll_interval` the relay also claims, with a short lease (row locks with
    SKIP LOCKED on PostgreSQL, the database write lock on SQLite), rows nobody holds: rows whose
    publish failed, or whose process died before publishing. A crash between publish and mark
    means a republish that JetStream de-duplicates by id.
    """

    def __init__(self, sessions: async_sessionmaker, tables: InfrastructureTables, nats: Any) -> None:
        self._sessions = sessions
        self._tables = tables
        self._nats = nats
        self._wake = asyncio.Event()
        self._handed: deque[Outgoing] = deque()
        self._outcomes: tuple[list[str], list[str]] = ([], [])
        self._outcomes_ready = asyncio.Event()
        self.published = 0

    def hand_over(self, rows: list[Outgoing]) -> None:
        """Rows this process just committed (called from the session's after-commit hook)."""
        self._handed.extend(rows)
        self._wake.set()

    async def run(self, poll_interval: float = 0.5) -> None:
        """Relay until cancelled."""
        marking = asyncio.create_task(self._mark_forever())
        try:
            await self._publish_forever(poll_interval)
        finally:
            marking.cancel()
            await asyncio.gather(marking, return_exceptions=True)

    async def _publish_forever(self, poll_interval: float) -> None:
        loop = asyncio.get_running_loop()
        next_poll = loop.time()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_poll - loop.time()))
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                while self._handed:
                    await self._publish_handed()
                if loop.time() >= next_poll:
                    next_poll = loop.time() + poll_interval
                    while await self.relay_once() == BATCH:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:  # the relay must outlive NATS and database hiccups
                log.exception("outbox relay pass failed; retrying")
                await asyncio.sleep(1)

    async def _publish_handed(self) -> None:
        rows = [self._handed.popleft() for _ in range(min(BATCH, len(self._handed)))]
        published, failed = await self._publish(rows)
        self._outcomes[0].extend(published)
        self._outcomes[1].extend(failed)
        self._outcomes_ready.set()

    async def _mark_forever(self) -> None:
        """Record publish outcomes of handed-over rows, as many at once as have accumulated."""
        while True:
            await self._outcomes_ready.wait()
            self._outcomes_ready.clear()
            published, failed = self._outcomes
            self._outcomes = ([], [])
            try:
                await self._finish(published, failed)
            except asyncio.CancelledError:
                raise
            except Exception:  # unmarked rows are republished after their claim and de-duplicated
                log.warning("marking %d outbox rows failed; they are republished later", len(published), exc_info=True)

    async def relay_once(self) -> int:
        """Claim, publish and mark one batch of rows nobody holds; returns how many were published."""
        if self._nats.jetstream() is None:
            return 0
        rows = await self._claim()
        if not rows:
            return 0
        published: list[str] = []
        try:
            published, _ = await self._publish(rows)
        finally:
            done = set(published)
            await self._finish(published, [row.event_id for row in rows if row.event_id not in done])
        return len(published) if len(published) == len(rows) else 0

    async def _publish(self, rows: list[Any]) -> tuple[list[str], list[str]]:
        """Publish `rows` (in order, all in flight at once); returns the event ids (published, failed)."""
        js = self._nats.jetstream()
        if js is None:
            return [], [row.event_id for row in rows]
        # All of the batch in flight at once, in order: one publish per round trip to JetStream
        # capped a relay at a few hundred events/s on a loaded machine (bench scenario 3). A failed
        # row stays pending and is republished later; rows after it that did reach the stream are
        # not published twice (Nats-Msg-Id de-duplication), as with two relays racing.
        tracer = tracing.TRACER
        spans: list[Any] = []
        headers = [self._headers(row, tracer, spans) for row in rows]
        published: list[str] = []
        failed: list[str] = []
        acks: list[asyncio.Future[Any]] = []
        try:
            # publish_async writes each message at once and resolves its future on the PubAck (or
            # the server's error): one timer for the batch instead of one request per message.
            for row, row_headers in zip(rows, headers, strict=True):
                acks.append(await js.publish_async(row.nats_subject, row.envelope, wait_stall=PUBLISH_TIMEOUT,
                                                   headers=row_headers))
            if acks:
                await asyncio.wait(acks, timeout=PUBLISH_TIMEOUT)
        except asyncio.CancelledError:
            for pending in acks:
                pending.cancel()
            raise
        except Exception as exc:  # the connection broke mid-batch: the rest stays pending
            log.warning("publishing outbox events failed (%s); unpublished ones stay pending", exc)
        finally:
            for span in spans:
                span.end()
        for index, row in enumerate(rows):
            ack = acks[index] if index < len(acks) else None
            if ack is not None and ack.done() and not ack.cancelled() and ack.exception() is None:
                published.append(row.event_id)
                continue
            if ack is not None and not ack.done():
                ack.cancel()  # no PubAck in time; releases its slot in nats-py
            reason = "not sent" if ack is None else "no acknowledgement" if ack.cancelled() else ack.exception()
            log.warning("publishing outbox event %s failed (%s); it stays pending", row.event_id, reason)
            failed.append(row.event_id)
        self.published += len(published)
        return published, failed

    def _headers(self, row: Any, tracer: Any, spans: list[Any]) -> dict[str, str]:
        """`Nats-Msg-Id`, and the `traceparent` of the event (of its publish span when tracing is on)."""
        headers = {"Nats-Msg-Id": row.event_id}
        traceparent = orjson.loads(row.envelope).get("traceparent")
        if tracer is not None:
            span = tracing.start_span(
                tracer,
                f"publish {row.nats_subject}",
                traceparent,
                tracing.SpanKind.PRODUCER,
                {"messaging.system": "nats", "messaging.destination.name": row.nats_subject, "messaging.message.id": row.event_id},
            )
            spans.append(span)
            traceparent = tracing.traceparent_of(span)
        if traceparent:
            headers["traceparent"] = traceparent
        return headers

    async def _claim(self) -> list[Any]:
        outbox = self._tables.outbox
        now = real_now()
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.seq, outbox.c.event_id, outbox.c.nats_subject, outbox.c.envelope)
                    .where(
                        and_(
                            outbox.c.published_at.is_(None),
                            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
                        )
                    )
                    .order_by(outbox.c.seq)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if rows:
                await session.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_([row.seq for row in rows]))
                    .values(claimed_until=now + CLAIM_LEASE, attempts=outbox.c.attempts + 1)
                )
        return list(rows)

    async def _finish(self, published: list[str], failed: list[str]) -> None:
        """Mark rows sent; release the claim on rows whose publish failed, so the next poll retries them."""
        if not published and not failed:
            return
        outbox = self._tables.outbox
        async with self._sessions() as session, session.begin():
            if published:
                await session.execute(
                    update(outbox).where(outbox.c.event_id.in_(published)).values(published_at=real_now())
                )
            if failed:
                await session.execute(
                    update(outbox).where(outbox.c.event_id.in_(failed)).values(claimed_until=None)
                )


async def outbox_backlog(sessions: async_sessionmaker, tables: InfrastructureTables) -> tuple[int, float]:
    """(pending rows, age in seconds of the oldest pending row)."""
    outbox = tables.outbox
    async with sessions() as session:
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
            )
        ).one()
    if not count or oldest is None:
        return 0, 0.0
    return int(count), (real_now() - oldest).total_seconds()
