"""Durable pull consumers with an inbox: each event's effect is applied exactly once."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ValidationError
from sqlalchemy import Insert, Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.envelope import STREAM, SUBJECT_PREFIX, CloudEvent, subject_for
from contracts.events import CATALOGUE
from servicekit import tracing
from servicekit.audit import ACTOR_KEY
from servicekit.clock import real_now
from servicekit.context import log_fields_var, request_id_var, traceparent_var
from servicekit.db import InfrastructureTables
from servicekit.deadletters import publish_dead_letter, unreadable_message_id
from servicekit.natsio import NatsLink, raise_if_cancelled

log = logging.getLogger("kezhuan.consumers")

MAX_DELIVER = 20
"""Default deliveries before an event is dead-lettered (KEZHUAN_MAX_DELIVER overrides it)."""

Payload = TypeVar("Payload", bound=BaseModel)


@cache
def _claim_statement(dialect: str, inbox: Table) -> Insert:
    """`INSERT … ON CONFLICT DO NOTHING` into the inbox, built once per dialect and table."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(inbox).on_conflict_do_nothing(index_elements=["consumer", "event_id"])


class EventRefused(Exception):
    """A handler's refusal of a well-formed event it can never apply (e.g. it contradicts what is stored).

    The event is dead-lettered at once with this reason, never retried and never acknowledged
    without a trace; an operator repairs the data and redrives it. Raise any other exception for
    what may pass later (a database hiccup, a referenced aggregate whose event has not arrived yet):
    that is retried 1 s apart and dead-lettered after `max_deliver` deliveries.
    """


class MalformedEvent(EventRefused):
    """The message is not a CloudEvent, or its `data` does not parse as the declared payload model."""


@dataclass(frozen=True)
class Handles(Generic[Payload]):
    """One event type's payload model and the handler that receives it parsed.

    The handler is `async def handler(session, payload, event) -> None`: `payload` is `event.data`
    parsed into `model`, `event` the envelope (for `id`, `time`, `subject`). It runs in the
    consumer's transaction together with the inbox row; it flushes, never commits.
    """

    model: type[Payload]
    handler: Callable[[AsyncSession, Payload, CloudEvent], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable consumer: its name and, per event type it receives, the payload model and handler.

    Declare one in the service's `consumers.py`, with the models of `contracts.events`::

        ConsumerSpec(
            name="deal-income",  # the durable is `<service>-deal-income`; never rename a live one
            handles={"pricing.deal.concluded": Handles(DealConcluded, on_deal_concluded)},
        )

        async def on_deal_concluded(session: AsyncSession, deal: DealConcluded, event: CloudEvent) -> None: ...

    servicekit parses `event.data` into the model before the handler runs, so a handler never
    looks at `event.data` itself. What happens to an event:

    - applied: the handler returned; its effect and the inbox row commit together, then the ack;
      a redelivery of the same event id finds the inbox row and does nothing (exactly once);
    - malformed (not a CloudEvent, or `data` does not parse as the model, or a type the spec
      does not handle): dead-lettered at once with the validation errors as its reason;
    - refused (the handler raises `EventRefused`): dead-lettered at once with its reason;
    - failed (any other exception): nothing is kept, retried 1 s apart, dead-lettered after
      `max_deliver` deliveries.

    A dead letter is never lost: it waits on `KEZHUAN_DLQ` until an operator redrives it. A model
    may be the catalogue's model or a stricter subclass of it (never an unrelated one), so what
    the AsyncAPI document says a service consumes is what it accepts.

    A new consumer (or event type) needs its row in `tests/consumers/test_malformed_events.py`:
    a valid payload, how to break it, and the table its effect lands in. That test fails until the
    row exists, and then proves the consumer dead-letters malformed events and applies valid ones.
    """

    name: str
    handles: Mapping[str, Handles[Any]]

    def __post_init__(self) -> None:
        if not self.handles:
            raise ValueError(f"consumer {self.name} handles no event type")
        for event_type, handles in self.handles.items():
            contract = CATALOGUE.get(event_type)
            if contract is not None and not issubclass(handles.model, contract):
                raise TypeError(
                    f"consumer {self.name}: {event_type} carries {contract.__name__}, not {handles.model.__name__}"
                )

    @property
    def event_types(self) -> tuple[str, ...]:
        """The event types this consumer receives (its subject filter)."""
        return tuple(self.handles)

    def declaration(self) -> list[dict[str, str]]:
        """Per event type: the payload model and the handler's one-line docstring (for the AsyncAPI document)."""
        return [
            {
                "event_type": event_type,
                "model": handles.model.__name__,
                "summary": (handles.handler.__doc__ or "").strip().split("\n")[0],
            }
            for event_type, handles in self.handles.items()
        ]

    def parse(self, event: CloudEvent) -> tuple[Handles[Any], BaseModel]:
        """The handler for the event's type and its parsed payload; MalformedEvent if either is missing."""
        handles = self.handles.get(event.type)
        if handles is None:
            raise MalformedEvent(f"consumer {self.name} does not handle {event.type}")
        try:
            return handles, handles.model.model_validate(event.data)
        except ValidationError as exc:
            raise MalformedEvent(f"data is not a valid {handles.model.__name__}: {describe_errors(exc)}") from exc


def describe_errors(exc: ValidationError) -> str:
    """Pydantic's errors in one line: `price: must be a decimal string …; unit_id: Field required`."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}" for error in exc.errors()
    )


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
                    messages = []
                raise_if_cancelled()  # unacked messages come back after ack_wait
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
        """Apply one message exactly once, then ack; dead-letter what cannot be applied (see ConsumerSpec)."""
        deliveries = getattr(message.metadata, "num_delivered", None) or 1
        try:
            event = CloudEvent.model_validate_json(message.data)
        except ValidationError as exc:
            await self._dead_letter(
                message,
                event_id=unreadable_message_id(message),
                event_type=(message.subject or "").removeprefix(SUBJECT_PREFIX),
                reason=f"{MalformedEvent.__name__}: not a CloudEvent: {describe_errors(exc)}",
                deliveries=deliveries,
            )
            return
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
            except EventRefused as exc:
                log.error("consumer %s refused %s %s: %s; dead-lettering it", self.durable, event.type, event.id, exc)
                await self._dead_letter(
                    message, event_id=event.id, event_type=event.type, reason=_reason(exc), deliveries=deliveries
                )
                return
            except Exception as exc:
                if deliveries < self.max_deliver:
                    log.exception("consumer %s failed on %s %s; will retry", self.durable, event.type, event.id)
                    await message.nak(delay=1)
                else:
                    log.exception(
                        "consumer %s failed on %s %s for the %d. time; dead-lettering it",
                        self.durable, event.type, event.id, deliveries,
                    )
                    await self._dead_letter(
                        message, event_id=event.id, event_type=event.type, reason=_reason(exc), deliveries=deliveries
                    )
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

    async def _dead_letter(self, message: Any, *, event_id: str, event_type: str, reason: str, deliveries: int) -> None:
        """Keep the message on the dead-letter stream, then stop redelivering it (or retry if NATS is away)."""
        js = self._link.jetstream()
        try:
            if js is None:
                raise ConnectionError("NATS is not connected")
            await publish_dead_letter(
                js,
                service=self.service,
                durable=self.durable,
                envelope=message.data,
                event_id=event_id,
                event_type=event_type,
                reason=reason,
                deliveries=deliveries,
                at=real_now(),
            )
        except Exception as failure:  # not kept yet: it must come back and be dead-lettered again
            log.warning("consumer %s could not dead-letter %s (%s); will retry", self.durable, event_id, failure)
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
        """Record the inbox row, parse the payload and run its handler in one transaction; False if
        already applied. Raises MalformedEvent (nothing kept) when the payload does not parse."""
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
                    # Parsed after the claim, so a redelivery of an event applied already (say, before
                    # its model grew stricter) is recognised as applied instead of dead-lettered.
                    handles, payload = self.spec.parse(event)
                    await handles.handler(session, payload, event)
            except IntegrityError:
                # Another replica applied the same event concurrently; its commit won.
                return False
        return True


def _reason(exc: Exception) -> str:
    """A dead letter's reason: the exception's class and message."""
    return f"{type(exc).__name__}: {exc}"

