"""Durable pull consumers with an inbox: each event's effect is applied exactly once."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import STREAM, CloudEvent, subject_for
from servicekit.clock import real_now
from servicekit.audit import ACTOR_KEY
from servicekit.context import request_id_var, traceparent_var
from servicekit.db import InfrastructureTables
from servicekit.natsio import NatsLink

log = logging.getLogger("kezhuan.consumers")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
MAX_DELIVER = 20


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
        on_commit: Callable[[AsyncSession], None],
    ) -> None:
        self.durable = f"{service}-{spec.name}"
        self.spec = spec
        self._sessions = sessions
        self._tables = tables
        self._link = link
        self._on_commit = on_commit
        self.applied = 0
        self.redelivered = 0

    def config(self) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.durable,
            filter_subjects=[subject_for(t) for t in self.spec.event_types],
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=10,  # a crashed consumer's in-flight messages come back after this
            max_deliver=MAX_DELIVER,
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
                    try:
                        await js.add_consumer(STREAM, self.config())
                    except Exception:
                        await js.update_consumer(STREAM, self.config())
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
        if getattr(message.metadata, "num_delivered", 1) > 1:
            self.redelivered += 1
        request_token = request_id_var.set(event.requestid)
        trace_token = traceparent_var.set(event.traceparent)
        try:
            applied = await self.apply(event)
        except Exception:
            log.exception("consumer %s failed on %s %s; will retry", self.durable, event.type, event.id)
            await message.nak(delay=1)
            return
        finally:
            request_id_var.reset(request_token)
            traceparent_var.reset(trace_token)
        if applied:
            self.applied += 1
        await message.ack()

    async def apply(self, event: CloudEvent) -> bool:
        """Run the handler and record the inbox row in one transaction; False if already applied."""
        inbox = self._tables.inbox
        async with self._sessions() as session:
            session.info[ACTOR_KEY] = f"consumer:{self.durable}"
            try:
                async with session.begin():
                    seen = (
                        await session.execute(
                            select(inbox.c.event_id).where(
                                inbox.c.consumer == self.durable, inbox.c.event_id == event.id
                            )
                        )
                    ).first()
                    if seen:
                        return False
                    await session.execute(
                        inbox.insert().values(
                            consumer=self.durable,
                            event_id=event.id,
                            event_type=event.type,
                            received_at=real_now(),
                        )
                    )
                    await self.spec.handler(session, event)
            except IntegrityError:
                # Another replica applied the same event concurrently; its commit won.
                return False
            self._on_commit(session)
        return True
