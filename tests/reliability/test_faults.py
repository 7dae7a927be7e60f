"""Faults against the whole system as processes: SIGKILLed services, NATS down, duplicate and
reordered deliveries, two replicas of every service. After each: every committed change present,
every event applied exactly once in every consumer, no outbox row left behind, audit chains intact.

Each test appends its figures to var/reliability-last-run.json (copied into docs/RELIABILITY.md).
"""
from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from kezhuan.embedded_nats import free_port
from kezhuan.launcher import Supervisor
from servicekit.settings import SERVICES
from servicekit.testing import DatabaseFactory, eventually, publish_event
from tests.e2e.conftest import RunningSystem

pytestmark = pytest.mark.e2e

CONSUMERS = ("pricing", "exemption", "finance")
"""Services whose consumers turn `ownership.unit.registered` into a unit_policies row."""
FIGURES = Path(__file__).resolve().parents[2] / "var" / "reliability-last-run.json"
STALE_OUTBOX_SECONDS = 10
EVALUATION_UNITS = "SELECT unit_id FROM units WHERE generation = (SELECT id FROM generations WHERE state = 'active')"


@pytest_asyncio.fixture(scope="module")
async def system(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSystem]:
    data_dir = tmp_path_factory.mktemp("reliability")
    urls = {name: await databases.url(f"rel_{name}_{data_dir.name}") for name in SERVICES}
    supervisor = Supervisor(
        data_dir=data_dir,
        gateway_port=free_port(),
        extra_env={
            "KEZHUAN_ENV": "test",
            "KEZHUAN_DB_POOL_SIZE": "2",  # many processes share one PostgreSQL (max_connections 100)
            "KEZHUAN_DB_MAX_OVERFLOW": "2",
            **{f"KEZHUAN_DATABASE_URL_{n.upper()}": u for n, u in urls.items()},
        },
    )
    FIGURES.parent.mkdir(exist_ok=True)
    FIGURES.write_text("{}")
    try:
        await asyncio.to_thread(supervisor.start_all)
        await asyncio.to_thread(supervisor.wait_ready, None, 90)
        running = RunningSystem(supervisor, urls)
        yield running
        await running.http.aclose()
    finally:
        await asyncio.to_thread(supervisor.stop_all)


def record(test: str, **figures: Any) -> None:
    data = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    data[test] = figures
    FIGURES.write_text(json.dumps(data, indent=2, ensure_ascii=False))


class Writer:
    """Registers units through the gateway as fast as it can; remembers which committed (201)."""

    def __init__(self, system: RunningSystem) -> None:
        self.system = system
        self.committed: list[str] = []
        self.failed = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def _run(self, limit: int) -> None:
        admin = self.system.auth("platform_admin")
        while not self._stop.is_set() and len(self.committed) < limit:
            try:
                response = await self.system.http.post(
                    "/api/v1/units", json={"name": f"辽宁大学-{uuid.uuid4().hex[:8]}", "type": "university"}, headers=admin
                )
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 201:
                self.committed.append(response.json()["id"])
            else:
                assert response is None or response.status_code in (502, 503, 504), response.text
                self.failed += 1
                await asyncio.sleep(0.05)

    def start(self, limit: int = 10_000) -> None:
        self._task = asyncio.create_task(self._run(limit))

    async def stop(self) -> None:
        self._stop.set()
        assert self._task is not None
        await self._task

    async def wrote(self, n: int) -> None:
        start = len(self.committed)
        await eventually(lambda: _true(len(self.committed) >= start + n), timeout=60)


async def _true(value: bool) -> bool:
    return value


async def assert_consistent(system: RunningSystem, unit_ids: list[str], timeout: float = 60) -> float:
    """Every unit in ownership and, once each, in every consumer; no stale outbox; returns seconds to converge."""
    started = time.monotonic()
    wanted = set(unit_ids)

    async def converged() -> bool:
        owned = {row.id for row in await system.query("ownership", "SELECT id FROM units")}
        if not wanted <= owned:
            return False
        for service in CONSUMERS:
            have = {row.unit_id for row in await system.query(service, "SELECT unit_id FROM unit_policies")}
            if not wanted <= have:
                return False
        # EVA-2: the evaluation read model learns every unit from the same events.
        counted = {row.unit_id for row in await system.query("evaluation", EVALUATION_UNITS)}
        return wanted <= counted

    await eventually(converged, timeout=timeout, interval=0.2)
    seconds = time.monotonic() - started
    for service in (*CONSUMERS, "evaluation"):
        doubles = await system.query(
            service, "SELECT consumer, event_id FROM inbox GROUP BY consumer, event_id HAVING count(*) > 1"
        )
        assert doubles == [], f"{service} applied an event twice"
        if service == "evaluation":
            continue
        rows = await system.query(service, "SELECT unit_id, count(*) AS n FROM unit_policies GROUP BY unit_id HAVING count(*) > 1")
        assert rows == [], f"{service} holds a unit twice"

    async def outboxes_drained() -> bool:
        for service in SERVICES:
            pending = await system.query(service, "SELECT created_at FROM outbox WHERE published_at IS NULL")
            if pending:
                return False
        return True

    # "No outbox row older than 10 s": everything pending must be published within that bound.
    await eventually(outboxes_drained, timeout=STALE_OUTBOX_SECONDS)
    return seconds


async def audit_intact(system: RunningSystem) -> dict[str, int]:
    entries = {}
    for service in SERVICES:
        response = await system.http.get("/api/v1/audit/verify", params={"service": service}, headers=system.auth("platform_admin"))
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["intact"] is True, report
        entries[service] = report["entries"]
    return entries


@pytest.mark.parametrize("victim", SERVICES)
async def test_a_service_sigkilled_mid_flow_loses_nothing_and_doubles_nothing(system: RunningSystem, victim: str) -> None:
    writer = Writer(system)
    writer.start()
    await writer.wrote(5)
    await asyncio.to_thread(system.supervisor.kill, victim, signal.SIGKILL)
    killed_at = len(writer.committed)
    await asyncio.sleep(0.5)  # writes (or, for ownership, refusals) keep coming while it is down
    await system.restart(victim)
    await writer.wrote(5)
    await writer.stop()
    converge = await assert_consistent(system, writer.committed)
    record(f"sigkill_{victim}", committed=len(writer.committed), committed_before_kill=killed_at,
           refused_while_down=writer.failed, seconds_to_converge=round(converge, 2))


async def test_nats_down_for_20_s_writes_still_commit_and_everything_is_delivered_after(system: RunningSystem) -> None:
    writer = Writer(system)
    writer.start()
    await writer.wrote(3)
    nats = system.supervisor.nats
    assert nats is not None
    await asyncio.to_thread(nats.stop)
    down_from = len(writer.committed)
    await asyncio.sleep(20)  # the fault itself lasts 20 s by design, not a wait for a condition
    during = len(writer.committed) - down_from
    pending = sum([len(await system.query(s, "SELECT seq FROM outbox WHERE published_at IS NULL")) for s in SERVICES])
    await asyncio.to_thread(nats.restart)
    back = time.monotonic()
    await writer.wrote(3)
    await writer.stop()
    assert during > 0 and writer.failed == 0
    converge = await assert_consistent(system, writer.committed)
    record("nats_down_20s", committed=len(writer.committed), committed_while_nats_down=during,
           outbox_pending_at_restart=pending, seconds_to_converge_after_nats_back=round(time.monotonic() - back, 2),
           converge_check_seconds=round(converge, 2))


async def test_duplicate_and_reordered_deliveries_apply_once(system: RunningSystem) -> None:
    url = system.supervisor.nats_url
    assert url
    units = [f"dup-{uuid.uuid4().hex[:10]}" for _ in range(6)]
    event_ids = [uuid.uuid4().hex for _ in units]
    policy = {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90}

    async def publish(i: int) -> None:
        data = {"unit_id": units[i], "name": f"单位{i}", "type": "university", "policy": policy}
        # Same CloudEvent id, fresh Nats-Msg-Id: JetStream cannot de-duplicate, the inboxes must.
        await publish_event(url, "ownership.unit.registered", units[i], data, event_id=event_ids[i], msg_id=uuid.uuid4().hex)

    order = [5, 3, 1, 0, 2, 4]  # unrelated aggregates out of order
    for i in order:
        await publish(i)
    for i in reversed(order):
        await publish(i)

    async def applied() -> bool:
        for service in CONSUMERS:
            rows = await system.query(service, "SELECT unit_id FROM unit_policies")
            if not set(units) <= {row.unit_id for row in rows}:
                return False
        return True

    await eventually(applied, timeout=30, interval=0.2)
    for service in CONSUMERS:
        rows = await system.query(service, "SELECT unit_id FROM unit_policies")
        assert sorted(r.unit_id for r in rows if r.unit_id in units) == sorted(units), service
    record("duplicates_and_reordering", events=len(units), deliveries=2 * len(units), consumers=len(CONSUMERS),
           applied_per_consumer=len(units))


async def test_two_replicas_of_every_service_apply_everything_exactly_once(system: RunningSystem) -> None:
    replicas = [await asyncio.to_thread(system.supervisor.start_replica, name) for name in SERVICES]
    try:
        for key in replicas:
            await asyncio.to_thread(system.supervisor.wait_ready, system.supervisor.replica_url(key), 60)
        writer = Writer(system)
        writer.start(limit=30)
        await writer.wrote(30)
        await writer.stop()
        converge = await assert_consistent(system, writer.committed)
        entries = await audit_intact(system)
    finally:
        for key in replicas:
            await asyncio.to_thread(system.supervisor.kill, key, signal.SIGTERM)
    record("two_replicas", committed=len(writer.committed), seconds_to_converge=round(converge, 2),
           audit_entries=entries, audit_intact=True)
