"""What runs webhooks inside the gateway: its database, the stream dispatcher and the delivery worker."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import aiohttp
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from contracts.envelope import STREAM, SUBJECT_PREFIX, CloudEvent
from gateway.webhooks import service
from gateway.webhooks.service import Attempt, RetryPolicy
from gateway.webhooks.signing import signed_headers
from servicekit.clock import real_now
from servicekit.consumers import describe_errors
from servicekit.db import create_engine, create_sessionmaker
from servicekit.deadletters import publish_dead_letter, unreadable_message_id
from servicekit.migrations import upgrade_to_head
from servicekit.natsio import NatsLink, raise_if_cancelled
from servicekit.settings import KezhuanSettings

log = logging.getLogger("kezhuan.gateway.webhooks")

DURABLE = "gateway-webhooks"
BATCH = 64
"""Also the consumer's max_ack_pending: one batch at a time across replicas keeps events in stream order."""
CLAIM_LIMIT = 32
GATHER_SECONDS = 0.1
"""After a short batch the dispatcher waits this long before fetching again (webhooks go out ≤ 0.1 s later)."""
POLL_INTERVAL = 0.5
ERROR_TEXT_MAX = 500


class WebhookRuntime:
    """Owns the gateway's database, its NATS connection and the two webhook loops."""

    def __init__(self, settings: KezhuanSettings, policy: RetryPolicy) -> None:
        self.policy = policy
        self.engine = create_engine(
            settings.database_url("gateway"), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        self.sessions = create_sessionmaker(self.engine)
        self.nats = NatsLink(settings.nats_url, "kezhuan-gateway", settings.stream_replicas)
        self._due = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task] = []
        self.events_recorded = 0

    async def start(self) -> None:
        """Migrate, then consume the stream and deliver in the background."""
        await upgrade_to_head(self.engine, "gateway")
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.policy.attempt_timeout),
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        self._spawn(self.nats.connect_forever(), "nats-connect")
        self._spawn(self._dispatch_forever(), "dispatcher")
        self._spawn(self._deliver_forever(), "delivery-worker")

    def _spawn(self, coroutine: Awaitable[Any], name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=f"webhooks:{name}"))

    async def stop(self) -> None:
        """Cancel the loops and release connections (an attempt cut short is retried after its lease)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.nats.close()
        if self._http is not None:
            await self._http.close()
        await self.engine.dispose()

    def consumer_config(self) -> ConsumerConfig:
        """One durable for all gateway replicas, so each event is recorded once."""
        return ConsumerConfig(
            durable_name=DURABLE,
            filter_subject=SUBJECT_PREFIX + ">",
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=30,
            max_ack_pending=BATCH,
        )

    async def _dispatch_forever(self) -> None:
        await self.nats.ready.wait()
        subscription = None
        while True:
            try:
                if subscription is None:
                    js = self.nats.jetstream()
                    if js is None:
                        await asyncio.sleep(0.5)
                        continue
                    # Creates the durable or updates its config (nats-py has no update_consumer).
                    await js.add_consumer(STREAM, self.consumer_config())
                    subscription = await js.pull_subscribe_bind(DURABLE, stream=STREAM)
                try:
                    messages = await subscription.fetch(batch=BATCH, timeout=1)
                except (NatsTimeoutError, TimeoutError):
                    messages = []
                raise_if_cancelled()  # unacked messages come back after ack_wait
                if not messages:
                    continue
                await self._record(messages)
                if len(messages) < BATCH:
                    # Let events gather: under a steady flow a fetch returns one or two, and a
                    # transaction per fetch cost the gateway ≈ 3 ms of CPU per deal (bench scenario 3).
                    await asyncio.sleep(GATHER_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("webhook dispatcher: %s; retrying", exc)
                subscription = None
                await asyncio.sleep(0.5)

    async def _record(self, messages: list[Any]) -> None:
        """Store one batch in one transaction, then ack it; on failure NATS delivers it again."""
        events: list[tuple[CloudEvent, bytes, datetime]] = []
        valid = []
        for message in messages:
            try:
                event = CloudEvent.model_validate_json(message.data)
                events.append((event, message.data, message.metadata.timestamp))
                valid.append(message)
            except ValidationError as exc:
                await self._dead_letter(message, exc)
        try:
            async with self.sessions() as session, session.begin():
                recorded = await service.record_events(session, events=events, now=real_now())
        except Exception:
            for message in valid:
                await message.nak(delay=1)
            raise
        for message in valid:
            await message.ack()
        self.events_recorded += recorded.events
        if recorded.deliveries:
            self._due.set()

    async def _dead_letter(self, message: Any, exc: ValidationError) -> None:
        """A message that is no CloudEvent cannot become a webhook: keep it on the dead-letter stream
        (`kezhuan-dlq.gateway.gateway-webhooks`) before terminating it, or have it redelivered."""
        log.error("webhook dispatcher: not a CloudEvent, dead-lettering it: %r", message.data[:200])
        js = self.nats.jetstream()
        try:
            if js is None:
                raise ConnectionError("NATS is not connected")
            await publish_dead_letter(
                js,
                service="gateway",
                durable=DURABLE,
                envelope=message.data,
                event_id=unreadable_message_id(message),
                event_type=(message.subject or "").removeprefix(SUBJECT_PREFIX),
                reason=f"MalformedEvent: not a CloudEvent: {describe_errors(exc)}",
                deliveries=getattr(message.metadata, "num_delivered", None) or 1,
                at=real_now(),
            )
        except Exception as failure:
            log.warning("webhook dispatcher could not dead-letter a message (%s); will retry", failure)
            await message.nak(delay=1)
            return
        await message.term()

    async def _deliver_forever(self) -> None:
        while True:
            try:
                self._due.clear()
                if not await self.deliver_due():
                    try:
                        await asyncio.wait_for(self._due.wait(), POLL_INTERVAL)
                    except TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery worker failed; retrying")
                await asyncio.sleep(POLL_INTERVAL)

    async def deliver_due(self) -> int:
        """Claim due deliveries, send them concurrently, record each outcome; returns how many were sent."""
        async with self.sessions() as session, session.begin():
            attempts = await service.claim_due(session, now=real_now(), limit=CLAIM_LIMIT, policy=self.policy)
        outcomes = await asyncio.gather(*(self._attempt(a) for a in attempts), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                # Unrecorded: the delivery is retried when its lease ends.
                log.error("webhook delivery outcome not recorded: %r", outcome)
        return len(attempts)

    async def _attempt(self, attempt: Attempt) -> None:
        assert self._http is not None
        status: int | None = None
        error: str | None = None
        sent_at = real_now()
        headers = signed_headers(attempt.secret, attempt.event_id, int(sent_at.timestamp()), attempt.body)
        try:
            async with self._http.post(attempt.url, data=attempt.body, headers=headers, allow_redirects=False) as response:
                status = response.status
                if not 200 <= status < 300:
                    error = f"answered {status}: {(await response.content.read(ERROR_TEXT_MAX)).decode('utf-8', 'replace')}"
        except TimeoutError:
            error = f"no answer within {self.policy.attempt_timeout} s"
        except aiohttp.ClientError as exc:
            error = f"unreachable: {type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX]
        async with self.sessions() as session, session.begin():
            await service.settle(session, attempt=attempt, status=status, error=error, now=real_now(), policy=self.policy)
