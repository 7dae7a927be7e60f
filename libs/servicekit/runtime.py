"""What a running service owns: its database engines, NATS link, outbox relay, consumers, sweepers, clock.

`ServiceSpec` says what makes a service; `Runtime` runs it (created in the app's lifespan, reachable
as `app.state.runtime`). Nothing here knows HTTP routes: `servicekit.app` builds the app around it.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter
from sqlalchemy import MetaData, select

from servicekit import tracing
from servicekit.audit import ACTOR_KEY, Verification, seal_pending, verify_chain
from servicekit.auth import SERVICE_ROLE, VerifiedTokens, mint_token
from servicekit.clock import Clock
from servicekit.consumers import ConsumerRunner, ConsumerSpec
from servicekit.context import traceparent_var, write_session_var
from servicekit.db import (
    create_engine,
    create_read_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    infrastructure,
)
from servicekit.deadletters import DeadLetters
from servicekit.errors import UpstreamUnavailable
from servicekit.migrations import upgrade_to_head
from servicekit.natsio import NatsLink
from servicekit.outbox import RELAY_KEY, OutboxRelay, OutboxSession
from servicekit.settings import SERVICES, KezhuanSettings
from servicekit.tracecontext import continue_trace

log = logging.getLogger("kezhuan.runtime")

AUDIT_SEAL_INTERVAL = 1.0
"""Seconds between sealing passes of the audit chain (verification seals first anyway)."""

@dataclass(frozen=True)
class SweeperSpec:
    """A time-driven job: `run(session, now)` applies whatever is due; must be safe in two replicas.

    With `prepare`, `prepare(runtime, now)` runs first, outside any transaction (lookups at other
    services), and the sweep is `run(session, now, prepared)`.
    """

    name: str
    run: Callable[..., Awaitable[None]]
    interval: float = 1.0
    prepare: Callable[[Runtime, datetime], Awaitable[Any]] | None = None


@dataclass
class ServiceSpec:
    """What makes a service: its name, tables, routers, consumers and sweepers."""

    name: str
    metadata: MetaData
    routers: list[APIRouter]
    consumers: list[ConsumerSpec] = field(default_factory=list)
    sweepers: list[SweeperSpec] = field(default_factory=list)
    description: str = ""
    workers: list[Callable[["Runtime"], Coroutine[Any, Any, None]]] = field(default_factory=list)
    """Long-running background jobs of the service (e.g. evaluation's rebuild); each must be safe in two replicas."""


class Runtime:
    """Everything a running service owns (created in the lifespan, reachable as app.state.runtime)."""

    def __init__(self, spec: ServiceSpec, settings: KezhuanSettings, peers: dict[str, httpx.AsyncClient] | None) -> None:
        self.spec = spec
        self.service = spec.name
        self.settings = settings
        self.tables = infrastructure(spec.metadata)
        self.clock = Clock()
        self.tokens = VerifiedTokens(settings.jwt_secret.get_secret_value())
        # Serialises setting the test clock with the periodic reload, so a reload that read the
        # previous setting can never overwrite a newer one (requests right after a PUT saw real time).
        self._clock_lock = asyncio.Lock()
        self.engine = create_engine(
            settings.database_url(spec.name), pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        self.sessions = create_sessionmaker(self.engine, sync_session_class=OutboxSession)
        self.read_engine = create_read_engine(settings.database_url(spec.name), self.engine)
        self.read_sessions = create_read_sessionmaker(self.read_engine)
        """Sessions for GET requests: never the write lock (SQLite), READ ONLY (PostgreSQL)."""
        self.nats = NatsLink(settings.nats_url, f"kezhuan-{spec.name}", settings.stream_replicas)
        self.relay = OutboxRelay(self.sessions, self.tables, self.nats)
        self.sessions.configure(info={RELAY_KEY: self.relay.hand_over})
        self.consumers = [
            ConsumerRunner(
                spec.name, consumer, self.sessions, self.tables, self.nats, settings.max_deliver
            )
            for consumer in spec.consumers
        ]
        self.dead_letters = DeadLetters(spec.name, self.nats)
        self._injected_peers = peers if peers is not None else {}
        self.peers: dict[str, httpx.AsyncClient] = {}
        self.sweeps_run = 0
        self.sweeps_by_name: dict[str, list[int]] = {sweeper.name: [0, 0] for sweeper in spec.sweepers}
        """Per sweeper: [passes completed, passes failed]."""
        self._tasks: list[asyncio.Task] = []

    def service_token(self) -> str:
        """A short-lived token for read-only lookups at other services."""
        return mint_token(
            self.settings.jwt_secret.get_secret_value(),
            sub=f"service:{self.service}",
            roles=[SERVICE_ROLE],
            ttl=timedelta(minutes=5),
        )

    async def lookup(self, service: str, path: str, **params: Any) -> dict[str, Any] | None:
        """GET a fresh resource from another service; None when it answers 404.

        Never inside a write request's transaction: a slow peer would hold the database (SQLite's
        write lock, a pooled connection) for everyone. Look up first, then write; refused otherwise.
        """
        session = write_session_var.get()
        if session is not None and session.in_transaction():
            raise RuntimeError(f"lookup at {service} inside a database transaction: look it up before the first write")
        client = self.peers[service]
        if not _is_plain_path(path):
            # An id no URL can carry (a control character) or a `..` segment names nothing that exists:
            # never let it reach, or escape to, another endpoint (found by schemathesis).
            return None
        try:
            response = await client.get(
                path,
                params={k: v for k, v in params.items() if v is not None},
                headers={
                    "Authorization": f"Bearer {self.service_token()}",
                    "traceparent": self._outgoing_traceparent(),
                },
            )
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable("the {service} service could not be reached", service=service) from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise UpstreamUnavailable("the {service} service answered {status}", service=service, status=response.status_code)
        return response.json()

    @staticmethod
    def _outgoing_traceparent() -> str:
        """With tracing on, the called service's span is a child of this request's span; else a new span id."""
        current = traceparent_var.get()
        if tracing.TRACER is not None and current:
            return current
        return continue_trace(current)

    async def start(self) -> None:
        await upgrade_to_head(self.engine, self.service)
        await self.load_clock()
        for name in SERVICES:
            if name != self.service:
                self.peers[name] = self._injected_peers.get(name) or httpx.AsyncClient(
                    base_url=self.settings.service_url(name), timeout=httpx.Timeout(5.0, connect=2.0)
                )
        self._spawn(self.nats.connect_forever(), "nats-connect")
        self._spawn(self.relay.run(), "outbox-relay")
        for runner in self.consumers:
            self._spawn(runner.run(), f"consumer-{runner.durable}")
        for sweeper in self.spec.sweepers:
            self._spawn(self._sweep_forever(sweeper), f"sweeper-{sweeper.name}")
        for number, worker in enumerate(self.spec.workers):
            self._spawn(worker(self), f"worker-{number}")
        self._spawn(self._sync_clock_forever(), "clock-sync")
        self._spawn(self._seal_audit_forever(), "audit-sealer")

    def _spawn(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=f"{self.service}:{name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.nats.close()
        for name, client in self.peers.items():
            if client is not self._injected_peers.get(name):
                await client.aclose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self.engine.dispose()

    async def _sweep_forever(self, sweeper: SweeperSpec) -> None:
        while True:
            await asyncio.sleep(sweeper.interval)
            try:
                now = self.clock.now()
                prepared = (await sweeper.prepare(self, now),) if sweeper.prepare else ()
                async with self.sessions() as session:
                    session.info[ACTOR_KEY] = f"sweeper:{sweeper.name}"
                    async with session.begin():
                        await sweeper.run(session, now, *prepared)
                self.sweeps_run += 1
                self.sweeps_by_name[sweeper.name][0] += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                self.sweeps_by_name[sweeper.name][1] += 1
                log.exception("sweeper %s failed; retrying", sweeper.name)

    async def _seal_audit_forever(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_SEAL_INTERVAL)
            try:
                await seal_pending(self.sessions, self.tables.audit)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("sealing the audit log failed; retrying", exc_info=True)

    async def verify_audit(self) -> Verification:
        """Seal what is pending, then walk the whole chain."""
        await seal_pending(self.sessions, self.tables.audit)
        return await verify_chain(self.sessions, self.tables.audit)

    async def load_clock(self) -> None:
        """Adopt the test clock persisted by any replica (and survive restarts)."""
        if not self.settings.test_clock_enabled:
            return
        table = self.tables.clock
        async with self._clock_lock:
            async with self.read_sessions() as session:
                row = (await session.execute(select(table).where(table.c.id == 1))).first()
            if row is None or row.instant is None:
                self.clock.reset()
            else:
                self.clock.set(row.instant, row.set_at)

    async def change_clock(self, instant: datetime | None, set_at: datetime | None) -> None:
        """Set (or, with None, reset) the test clock here and persist it for the other replicas."""
        async with self._clock_lock:
            if instant is None:
                self.clock.reset()
            else:
                self.clock.set(instant, set_at)
            await self.save_clock(instant, set_at)

    async def save_clock(self, instant: datetime | None, set_at: datetime | None) -> None:
        table = self.tables.clock
        async with self.sessions() as session, session.begin():
            await session.execute(table.delete())
            await session.execute(table.insert().values(id=1, instant=instant, set_at=set_at))

    async def _sync_clock_forever(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self.load_clock()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("could not read the test clock", exc_info=True)


def _is_plain_path(path: str) -> bool:
    """A lookup path of printable characters without `.`/`..` segments."""
    if any(ord(character) < 0x21 or ord(character) == 0x7F for character in path):
        return False
    return not any(segment in (".", "..") for segment in path.split("?", 1)[0].split("/"))
