"""The operator's view of a running system: demo data, trace ids across logs, metrics through a NATS outage, CLI."""
from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from kezhuan.cli import main as cli
from kezhuan.demo import load_demo
from servicekit.clock import SHANGHAI
from servicekit.settings import SERVICES
from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem

pytestmark = pytest.mark.e2e


async def _row_counts(running: RunningSystem) -> dict[str, int]:
    counts: dict[str, int] = {}
    for service in SERVICES:
        tables = await running.query(
            service,
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            if running.database_urls[service].startswith("sqlite")
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
        )
        for (table,) in tables:
            if table in ("alembic_version", "test_clock", "clock"):
                continue
            [(n,)] = await running.query(service, f'SELECT count(*) FROM "{table}"')
            counts[f"{service}.{table}"] = n
    return counts


async def test_the_demo_loads_every_kind_of_item_and_a_second_run_creates_nothing(running: RunningSystem) -> None:
    first = await asyncio.to_thread(load_demo, running.supervisor.gateway_url)
    assert first.history_made
    admin = running.auth("platform_admin")
    states = {}
    for key, tx in first.transactions.items():
        response = await running.http.get(f"/api/v1/transactions/{tx}", headers=admin)
        assert response.status_code == 200, response.text
        states[key] = response.json()["state"]
    assert states["notice-objected"] == "notice_objected"
    assert states["listing-expired"] == "listing_expired"
    assert states["auction-failed"] == "auction_failed"
    assert states["listed"] == "listed" and states["in-notice"] == "in_notice" and states["draft"] == "draft"
    assert {states["auction-concluded"], states["delisted"], states["concluded-after-notice"]} == {"concluded"}
    pool = (await running.http.get(f"/api/v1/units/{first.units['dut']}/pool")).json()["items"]
    assert pool, "old untransformed achievements are in the pay-later pool"
    this_year = datetime.now(SHANGHAI).year

    async def evaluated(year: int) -> dict | None:  # M 十三: the demo gives the evaluation a history of years
        response = await running.http.get(f"/api/v1/evaluation/units/{first.units['dut']}", params={"year": year}, headers=admin)
        return response.json() if response.status_code == 200 and response.json()["quantity"]["deals"]["transfer"] else None

    for year in (this_year - 2, this_year - 1):
        body = await eventually(lambda year=year: evaluated(year), timeout=30)
        assert body["quality"]["notices_published"] >= 1 and body["benefit"]["deal_amount"] != "0.00"

    async def settled() -> bool:  # the consumers of the demo's events have caught up
        before = await _row_counts(running)
        await asyncio.sleep(0.5)
        return before == await _row_counts(running)

    await eventually(settled, timeout=30)
    before = await _row_counts(running)
    second = await asyncio.to_thread(load_demo, running.supervisor.gateway_url)
    assert not second.history_made
    assert second.transactions == first.transactions and second.cases == first.cases
    assert await _row_counts(running) == before


def _log_lines(running: RunningSystem, name: str) -> list[dict]:
    path = Path(running.supervisor.log_dir) / f"{name}.log"
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.startswith("{"):
            lines.append(json.loads(raw))
    return lines


async def test_one_requests_trace_id_appears_in_the_gateway_service_and_consumer_logs(running: RunningSystem) -> None:
    request_id = f"trace-test-{uuid.uuid4().hex}"
    response = await running.http.post(
        "/api/v1/units",
        json={"name": f"沈阳药科大学-{uuid.uuid4().hex[:6]}", "type": "university"},
        headers={**running.auth("platform_admin"), "X-Request-ID": request_id},
    )
    assert response.status_code == 201, response.text

    async def gateway_line() -> dict | None:
        return next((l for l in _log_lines(running, "gateway") if l.get("request_id") == request_id), None)

    started = await eventually(gateway_line)
    trace_id = started["trace_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id)

    async def in_logs(name: str, logger: str) -> bool:
        return any(l.get("trace_id") == trace_id and l["logger"] == logger for l in _log_lines(running, name))

    assert await eventually(lambda: in_logs("ownership", "kezhuan.access"))
    assert await eventually(lambda: in_logs("pricing", "kezhuan.consumers"), timeout=10)
    consumer_line = next(l for l in _log_lines(running, "pricing") if l.get("trace_id") == trace_id)
    assert consumer_line["request_id"] == request_id and consumer_line["service"] == "pricing"


def _metric(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


async def test_metrics_show_the_outbox_backlog_and_consumer_lag_through_a_nats_outage(running: RunningSystem) -> None:
    ownership = httpx.AsyncClient(base_url=running.supervisor.service_url("ownership"), timeout=10)
    pricing = httpx.AsyncClient(base_url=running.supervisor.service_url("pricing"), timeout=10)
    admin = running.auth("platform_admin")
    nats = running.supervisor.nats
    try:
        text = (await ownership.get("/metrics")).text
        assert _metric(text, "kezhuan_outbox_pending") == 0
        assert _metric(text, "kezhuan_nats_connected") == 1
        assert _metric(text, "kezhuan_http_requests_total", route="/api/v1/units", method="POST", status="201") >= 1
        lag = _metric((await pricing.get("/metrics")).text, "kezhuan_consumer_pending", consumer="pricing-unit-policies")
        assert lag == 0

        await asyncio.to_thread(nats.stop)

        async def disconnected() -> bool:
            return _metric((await ownership.get("/metrics")).text, "kezhuan_nats_connected") == 0

        await eventually(disconnected, timeout=15)
        for _ in range(3):
            response = await running.http.post(
                "/api/v1/units", json={"name": f"辽宁工程技术大学-{uuid.uuid4().hex[:6]}", "type": "university"}, headers=admin
            )
            assert response.status_code == 201, response.text
        text = (await ownership.get("/metrics")).text
        assert _metric(text, "kezhuan_outbox_pending") >= 3
        assert _metric(text, "kezhuan_outbox_oldest_age_seconds") > 0

        await asyncio.to_thread(nats.start)

        async def drained() -> bool:
            text = (await ownership.get("/metrics")).text
            return _metric(text, "kezhuan_outbox_pending") == 0 and _metric(text, "kezhuan_nats_connected") == 1

        await eventually(drained, timeout=30)

        async def caught_up() -> bool:
            text = (await pricing.get("/metrics")).text
            return _metric(text, "kezhuan_consumer_pending", consumer="pricing-unit-policies") == 0

        await eventually(caught_up, timeout=30)
    finally:
        if nats.process is None or nats.process.poll() is not None:
            await asyncio.to_thread(nats.start)
        await ownership.aclose()
        await pricing.aclose()


async def test_the_cli_reports_outbox_status_and_dead_letters_of_the_running_system(
    running: RunningSystem, capsys: pytest.CaptureFixture[str]
) -> None:
    gateway = running.supervisor.gateway_url
    assert await asyncio.to_thread(cli, ["outbox", "status", "--gateway", gateway, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["service"] for row in rows] == list(SERVICES)
    assert all(row["nats_connected"] and row["dead_letters"] == 0 for row in rows)

    assert await asyncio.to_thread(cli, ["dlq", "list", "--gateway", gateway]) == 0
    assert "no dead letters" in capsys.readouterr().out
    assert await asyncio.to_thread(cli, ["dlq", "show", "999999", "--service", "pricing", "--gateway", gateway]) == 1
    assert "404" in capsys.readouterr().err


async def test_the_cli_tails_events_from_the_stream(running: RunningSystem, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["events", "tail", "--nats", running.supervisor.nats_url, "--type", "ownership.unit.registered", "--from-start", "--count", "1"]
    assert await asyncio.to_thread(cli, argv) == 0
    event = json.loads(capsys.readouterr().out.splitlines()[0])
    assert event["type"] == "ownership.unit.registered" and event["specversion"] == "1.0"
