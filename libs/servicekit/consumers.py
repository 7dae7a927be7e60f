"""Durable pull consumers with an inbox: each event's effect is applied exactly once."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import Insert, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import STREAM, CloudEvent, subject_for
from servicekit import tracing
from servicekit.audit import ACTOR_KEY
from servicekit.clock import real_now
from servicekit.context import log_fields_var, request_id_var, traceparent_var
from servicekit.db import InfrastructureTables
from servicekit.deadletters import publish_dead_letter
from servicekit.natsio import NatsLink

log = logging.getLogger("kezhuan.consumers")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
MAX_DELIVER = 20
"""Default deliveries before an event is dead-lettered (KEZHUAN_MAX_DELIVER overrides it)."""


@cache
def _claim_statement(dialect: str, inbox: Table) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` into the inbox, built once per dialect and table."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(inbox).on_conflict_do_nothing(index_elements=["consumer", "event_id"])


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable consumer: its name, the event types it receives, and its handler."""

    name: str
    event_types: tuple[str, ...]
    handler: Handler


class ConsumerRunner:
    """Fetches, applies in a transaction together with the inbox row, commits, then acks."""

    def __init__(
        self,
        service: str,
        spec: ConsumerSpec,
        sessions: async_sessionmaker,
        tables: InfrastructureTables,
        link: NatsLink,
        max_deliver: int = MAX_DELIVER,
    ) -> None:
        self.service = service
        self.durable = f"{service}-{spec.name}"
        self.spec = spec
        self.max_deliver = max_deliver
        self._sessions = sessions
        self._tables = tables
        self._link = link
        self.applied = 0
        self.redelivered = 0
        self.dead_lettered = 0

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            filter_subjects=[subject_for(t) for t in self.spec.event_types],
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=10,  # a crashed consumer's in-flight messages come back after this
            # Unlimited on the server: this runner dead-letters at max_deliver itself, and an event
            # whose dead-lettering failed (NATS away) must come back to be dead-lettered again.
            max_deliver=-1,
            max_ack_pending=1000,
        )

    async def run(self) -> None:
        """Consume until cancelled; survives NATS outages."""
        await self._link.ready.wait()
        subscription = None
        while True:
            try:
                if subscription is None:
                    js = self._link.jetstream()
                    if js is None:
                        await asyncio.sleep(0.5)
                        continue
                    # Creates the durable or updates its config (nats-py has no update_consumer).
                    await js.add_consumer(STREAM, self.config())
                    subscription = await js.pull_subscribe_bind(self.durable, stream=STREAM)
                try:
                    messages = await subscription.fetch(batch=16, timeout=1)
                except (NatsTimeoutError, TimeoutError):  # nats-py raises either on an empty fetch
                    continue
                for message in messages:
                    await self.handle(message)
            except asyncio.CancelledError:
                if subscription is not None:
                    try:
                        await subscription.unsubscribe()
                    except Exception:
                        pass
                raise
            except Exception as exc:
                log.warning("consumer %s: %s; retrying", self.durable, exc)
                subscription = None
                await asyncio.sleep(0.5)

    async def handle(self, message: Any) -> None:
        """Apply one message exactly once, then ack."""
        try:
            event = CloudEvent.model_validate_json(message.data)
        except ValidationError:
            log.error("consumer %s: not a CloudEvent, terminating it: %r", self.durable, message.data[:200])
            await message.term()
            return
        deliveries = getattr(message.metadata, "num_delivered", None) or 1
        if deliveries > 1:
            self.redelivered += 1
        request_token = request_id_var.set(event.requestid)
        headers = message.headers
        traceparent = (headers.get("traceparent") if headers else None) or event.traceparent
        tracer = tracing.TRACER
        span = None
        if tracer is not None:
            span = tracing.start_span(
                tracer,
                f"process {event.type}",
                traceparent,
                tracing.SpanKind.CONSUMER,
                {"messaging.system": "nats", "messaging.consumer.group.name": self.durable, "messaging.message.id": event.id},
            )
            traceparent = tracing.traceparent_of(span)
        trace_token = traceparent_var.set(traceparent)
        fields = {"consumer": self.durable}
        unit_id = event.data.get("unit_id")
        if isinstance(unit_id, str):
            fields["unit"] = unit_id
        fields_token = log_fields_var.set(fields)
        try:
            try:
                applied = await self.apply(event)
            except Exception as exc:
                if deliveries < self.max_deliver:
                    log.exception("consumer %s failed on %s %s; will retry", self.durable, event.type, event.id)
                    await message.nak(delay=1)
                else:
                    await self._dead_letter(message, event, exc, deliveries)
                return
            if applied:
                self.applied += 1
                log.info("consumer %s applied %s %s", self.durable, event.type, event.id)
        finally:
            if span is not None:
                span.end()
            request_id_var.reset(request_token)
            traceparent_var.reset(trace_token)
            log_fields_var.reset(fields_token)
        await message.ack()

    async def _dead_letter(self, message: Any, event: CloudEvent, exc: Exception, deliveries: int) -> None:
        """The last delivery failed: keep the event on the dead-letter stream, then stop redelivering it."""
        log.exception(
            "consumer %s failed on %s %s for the %d. time; dead-lettering it",
            self.durable, event.type, event.id, deliveries,
        )
        js = self._link.jetstream()
        try:
            if js is None:
                raise ConnectionError("NATS is not connected")
            await publish_dead_letter(
                js,
                service=self.service,
                durable=self.durable,
                envelope=message.data,
                event_id=event.id,
                event_type=event.type,
                reason=f"{type(exc).__name__}: {exc}",
                deliveries=deliveries,
                at=real_now(),
            )
        except Exception as failure:  # not kept yet: it must come back and be dead-lettered again
            log.warning("consumer %s could not dead-letter %s (%s); will retry", self.durable, event.id, failure)
            await message.nak(delay=1)
            return
        self.dead_lettered += 1
        await message.term()

    async def lag(self) -> tuple[int, int, int] | None:
        """(pending, ack-pending, redelivered) of the durable on the server; None while NATS is away."""
        js = self._link.jetstream()
        if js is None:
            return None
        info = await js.consumer_info(STREAM, self.durable, timeout=1)
        return info.num_pending or 0, info.num_ack_pending or 0, info.num_redelivered or 0

    async def apply(self, event: CloudEvent) -> bool:
        """Run the handler and record the inbox row in one transaction; False if already applied."""
        inbox = self._tables.inbox
        async with self._sessions() as session:
            session.info[ACTOR_KEY] = f"consumer:{self.durable}"
            try:
                async with session.begin():
                    # Claim the event with one INSERT … ON CONFLICT DO NOTHING (a SELECT then an INSERT
                    # before): no row inserted means it was applied already. A replica applying it at
                    # the same moment makes PostgreSQL wait for that transaction, then do nothing.
                    claimed = await session.execute(
                        _claim_statement(session.bind.dialect.name, inbox),
                        {"consumer": self.durable, "event_id": event.id, "event_type": event.type, "received_at": real_now()},
                    )
                    if claimed.rowcount == 0:
                        return False
                    await self.spec.handler(session, event)
            except IntegrityError:
                # Another replica applied the same event concurrently; its commit won.
                return False
        return True
