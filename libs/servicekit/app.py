"""One factory builds every service's app: lifespan, middleware, errors, health, clock, metrics."""
from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from pydantic import BaseModel
from sqlalchemy import MetaData, select, text
from starlette.responses import Response

from servicekit import tracing
from servicekit.audit import ACTOR_KEY, Verification, seal_pending, verify_chain
from servicekit.auth import SERVICE_ROLE, VerifiedTokens, mint_token, require_role
from servicekit.clock import Clock, real_now
from servicekit.consumers import ConsumerRunner, ConsumerSpec
from servicekit.context import traceparent_var, write_session_var
from servicekit.db import (
    create_engine,
    create_read_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    infrastructure,
)
from servicekit.deadletters import DeadLetters, dead_letter_router
from servicekit.errors import InvalidInput, NotFound, UpstreamUnavailable
from servicekit.middleware import BodyLimitMiddleware, RequestIdMiddleware
from servicekit.migrations import upgrade_to_head
from servicekit.natsio import NatsLink
from servicekit.observability import ObservabilityMiddleware, RequestMetrics, configure_logging
from servicekit.outbox import RELAY_KEY, OutboxRelay, OutboxSession, outbox_backlog
from servicekit.problems import PROBLEM_RESPONSES, install_problem_handlers, problem, request_language
from servicekit.settings import SERVICES, KezhuanSettings, get_settings
from servicekit.tracecontext import continue_trace
from servicekit.tracing import configure_tracing
from servicekit.web import Ctx, service_router

log = logging.getLogger("kezhuan.app")

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


def settle_garbage_collector() -> None:
    """After start-up: freeze what start-up allocated (modules, app, mappers) out of the collector's
    view, and collect young objects less often. Full collections scanning those long-lived objects
    were the tail of a write (bench scenario 2: p99 80 → 38 ms, throughput +3-5 %)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


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


class AuditVerification(BaseModel):
    """Whether a service's audit chain is intact; `first_broken_seq` is the first entry that fails."""

    service: str
    entries: int
    intact: bool
    first_broken_seq: int | None = None


class ClockSetting(BaseModel):
    """`now`: the instant to jump to; `set_at` (optional): the real instant it refers to."""

    now: datetime
    set_at: datetime | None = None


def _infrastructure_router() -> APIRouter:
    router = service_router()

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        checks = {"database": False, "nats": runtime.nats.connected}
        try:
            async with runtime.read_sessions() as session:  # never waits for the write lock
                await session.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:
            pass
        if all(checks.values()):
            return Response(
                f'{{"status":"ready","service":"{runtime.service}"}}', media_type="application/json"
            )
        missing = ", ".join(name for name, ok in checks.items() if not ok)
        return problem(
            503, "{service} not ready: {missing} unavailable", params={"service": runtime.service, "missing": missing},
            language=request_language(request),
        )

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        body = await _render_metrics(runtime, request.app.state.request_metrics)
        return Response(body, media_type="text/plain; version=0.0.4")

    async def set_clock(request: Request, setting: ClockSetting) -> dict[str, Any]:
        runtime: Runtime = request.app.state.runtime
        if not runtime.settings.test_clock_enabled:
            raise NotFound()
        if setting.now.tzinfo is None:
            raise InvalidInput("`now` needs an offset, e.g. 2030-01-01T00:00:00+08:00")
        set_at = setting.set_at or real_now()
        await runtime.change_clock(setting.now, set_at)
        return {"now": runtime.clock.now().isoformat()}

    async def reset_clock(request: Request) -> dict[str, Any]:
        runtime: Runtime = request.app.state.runtime
        if not runtime.settings.test_clock_enabled:
            raise NotFound()
        await runtime.change_clock(None, None)
        return {"now": runtime.clock.now().isoformat()}

    @router.get("/api/v1/audit/verify", response_model=AuditVerification, tags=["audit"])
    async def verify_audit(ctx: Ctx) -> AuditVerification:
        """Recompute this service's hash-chained audit log (platform_admin)."""
        require_role(ctx.user, "platform_admin")
        result = await ctx.runtime.verify_audit()
        return AuditVerification(
            service=ctx.runtime.service,
            entries=result.entries,
            intact=result.intact,
            first_broken_seq=result.first_broken_seq,
        )

    @router.get("/internal/consumers", include_in_schema=False)
    async def consumers(request: Request) -> dict[str, Any]:
        """What this service consumes (per durable: event types, payload models); the gateway's AsyncAPI reads it."""
        runtime: Runtime = request.app.state.runtime
        return {
            "service": runtime.service,
            "consumers": [{"durable": c.durable, "handles": c.spec.declaration()} for c in runtime.consumers],
        }

    # Only the gateway exposes /api/v1/test-clock: it fans out to every service at once.
    router.add_api_route("/internal/test-clock", set_clock, methods=["PUT"], include_in_schema=False)
    router.add_api_route("/internal/test-clock", reset_clock, methods=["DELETE"], include_in_schema=False)
    return router


class OutboxStatus(BaseModel):
    """The service's outbox: rows not yet on NATS and how long the oldest has waited."""

    service: str
    pending: int
    oldest_age_seconds: float
    nats_connected: bool
    dead_letters: int | None


def _operations_router() -> APIRouter:
    router = service_router(tags=["operations"])

    @router.get("/api/v1/outbox", response_model=OutboxStatus)
    async def outbox_status(ctx: Ctx) -> Any:
        """Outbox backlog and dead letters of this service (platform_admin)."""
        require_role(ctx.user, "platform_admin")
        runtime = ctx.runtime
        pending, oldest_age = await outbox_backlog(runtime.read_sessions, runtime.tables)
        return OutboxStatus(
            service=runtime.service,
            pending=pending,
            oldest_age_seconds=round(oldest_age, 3),
            nats_connected=runtime.nats.connected,
            dead_letters=await _dead_letter_count(runtime),
        )

    return router


async def _consumer_lag(runtime: Runtime) -> dict[str, tuple[int, int, int]]:
    """Each durable's (pending, ack-pending, redelivered) on the server; omitted while NATS is away."""
    lags: dict[str, tuple[int, int, int]] = {}
    for consumer in runtime.consumers:
        try:
            lag = await consumer.lag()
        except Exception:  # NATS away or the durable not created yet: report what we can
            continue
        if lag is not None:
            lags[consumer.durable] = lag
    return lags


async def _dead_letter_count(runtime: Runtime) -> int | None:
    try:
        return await runtime.dead_letters.count()
    except Exception:
        return None


async def _render_metrics(runtime: Runtime, requests: RequestMetrics) -> bytes:
    pending, oldest_age = await outbox_backlog(runtime.read_sessions, runtime.tables)
    lags = await _consumer_lag(runtime)
    dead_letters = await _dead_letter_count(runtime)
    registry = CollectorRegistry()
    registry.register(requests)

    class _Collector:
        def collect(self) -> Any:
            yield GaugeMetricFamily("kezhuan_outbox_pending", "outbox rows not yet published", value=pending)
            yield GaugeMetricFamily(
                "kezhuan_outbox_oldest_age_seconds", "age of the oldest unpublished outbox row", value=oldest_age
            )
            yield CounterMetricFamily(
                "kezhuan_outbox_published", "outbox rows published by this process", value=runtime.relay.published
            )
            yield GaugeMetricFamily("kezhuan_nats_connected", "1 while connected to NATS", value=int(runtime.nats.connected))
            applied = CounterMetricFamily("kezhuan_consumer_applied", "events applied", labels=["consumer"])
            redelivered = CounterMetricFamily("kezhuan_consumer_redelivered", "redeliveries seen", labels=["consumer"])
            for consumer in runtime.consumers:
                applied.add_metric([consumer.durable], consumer.applied)
                redelivered.add_metric([consumer.durable], consumer.redelivered)
            dead_lettered = CounterMetricFamily(
                "kezhuan_consumer_dead_lettered", "events this process moved to the dead-letter stream", labels=["consumer"]
            )
            pending_gauge = GaugeMetricFamily(
                "kezhuan_consumer_pending", "events on the stream not yet delivered to the durable", labels=["consumer"]
            )
            ack_pending = GaugeMetricFamily(
                "kezhuan_consumer_ack_pending", "events delivered but not yet acknowledged", labels=["consumer"]
            )
            server_redelivered = GaugeMetricFamily(
                "kezhuan_consumer_server_redelivered", "events the server is redelivering now", labels=["consumer"]
            )
            for consumer in runtime.consumers:
                dead_lettered.add_metric([consumer.durable], consumer.dead_lettered)
                if consumer.durable in lags:
                    num_pending, num_ack_pending, num_redelivered = lags[consumer.durable]
                    pending_gauge.add_metric([consumer.durable], num_pending)
                    ack_pending.add_metric([consumer.durable], num_ack_pending)
                    server_redelivered.add_metric([consumer.durable], num_redelivered)
            yield applied
            yield redelivered
            yield dead_lettered
            yield pending_gauge
            yield ack_pending
            yield server_redelivered
            if dead_letters is not None:
                yield GaugeMetricFamily(
                    "kezhuan_dead_letters", "dead letters of this service awaiting an operator", value=dead_letters
                )
            yield CounterMetricFamily("kezhuan_sweeper_runs", "sweeper passes", value=runtime.sweeps_run)
            runs = CounterMetricFamily("kezhuan_sweeper_passes", "sweeper passes by outcome", labels=["sweeper", "outcome"])
            for name, (done, failed) in runtime.sweeps_by_name.items():
                runs.add_metric([name, "ok"], done)
                runs.add_metric([name, "failed"], failed)
            yield runs

    registry.register(_Collector())
    return generate_latest(registry)


def create_service_app(
    spec: ServiceSpec,
    settings: KezhuanSettings | None = None,
    peers: dict[str, httpx.AsyncClient] | None = None,
) -> FastAPI:
    """Build a service's ASGI app; `peers` lets tests route lookups to in-process apps."""
    settings = settings or get_settings()
    configure_logging(spec.name, settings.log_level)
    configure_tracing(spec.name, settings.otel_exporter)
    request_metrics = RequestMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(spec, settings, peers)
        app.state.runtime = runtime
        await runtime.start()
        if settings.settle_gc:
            settle_garbage_collector()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"Kezhuan {spec.name}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        responses=PROBLEM_RESPONSES,
    )
    app.state.request_metrics = request_metrics
    install_problem_handlers(app)
    app.include_router(_infrastructure_router())
    app.include_router(dead_letter_router())
    app.include_router(_operations_router())
    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=request_metrics, log_requests=settings.access_log)
    app.add_middleware(RequestIdMiddleware)
    return app
