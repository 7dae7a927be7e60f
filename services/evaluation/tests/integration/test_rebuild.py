"""EVA-2: the model rebuilt from the stream's first message equals the live one, also with events arriving meanwhile."""
from __future__ import annotations

from typing import Any

import pytest_asyncio

from servicekit.testing import InProcessSystem, eventually

from . import scenario as sc


async def _reads(system: InProcessSystem, scenario: sc.Scenario) -> list[Any]:
    headers = system.auth("platform_admin")
    client = system.clients["evaluation"]
    paths = [
        *(f"/api/v1/evaluation/units/{unit}?year={year}" for unit in (scenario.unit_a, scenario.unit_b) for year in (2025, 2026)),
        f"/api/v1/evaluation/units/{scenario.unit_a}/departments?year=2025",
        f"/api/v1/evaluation/researchers/{scenario.id('p-a1')}?year=2026",
        f"/api/v1/evaluation/technology-managers/{scenario.id('m1')}?year=2025",
        "/api/v1/evaluation/province?year=2026&limit=200",
    ]
    bodies = []
    for path in paths:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    return bodies


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def live(evaluation: InProcessSystem, evaluation_nats: str) -> sc.Scenario:
    scenario = sc.build()
    await sc.publish(evaluation_nats, scenario)

    async def applied() -> bool:
        body = (await _reads(evaluation, scenario))[3]
        return body["quality"]["exemption_conclusions"]["basically_meets"] == 1

    await eventually(applied, timeout=20)
    return scenario


async def _rebuild(system: InProcessSystem) -> dict[str, Any]:
    headers = system.auth("platform_admin")
    started = await system.clients["evaluation"].post("/api/v1/evaluation/rebuild", headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running"
    rebuild_id = started.json()["id"]

    async def done() -> dict[str, Any] | None:
        response = await system.clients["evaluation"].get(f"/api/v1/evaluation/rebuilds/{rebuild_id}", headers=headers)
        assert response.status_code == 200
        return response.json() if response.json()["state"] == "done" else None

    return await eventually(done, timeout=60)


async def test_a_rebuild_replays_every_event_and_every_read_is_unchanged(evaluation: InProcessSystem, live: sc.Scenario) -> None:
    """EVA-2: rebuilt = live, read for read; the rebuild counted the stream's events."""
    before = await _reads(evaluation, live)
    finished = await _rebuild(evaluation)
    assert finished["events"] >= len(live.events)
    assert await _reads(evaluation, live) == before


async def test_events_published_during_a_rebuild_are_in_the_rebuilt_model(
    evaluation: InProcessSystem, evaluation_nats: str, live: sc.Scenario
) -> None:
    """EVA-2: the live consumer writes to the model being built, so the swap loses nothing that arrives meanwhile."""
    later = sc.build()
    headers = evaluation.auth("platform_admin")
    started = await evaluation.clients["evaluation"].post("/api/v1/evaluation/rebuild", headers=headers)
    assert started.status_code == 202
    await sc.publish(evaluation_nats, later)
    rebuild_id = started.json()["id"]

    async def done() -> bool:
        response = await evaluation.clients["evaluation"].get(f"/api/v1/evaluation/rebuilds/{rebuild_id}", headers=headers)
        return response.json()["state"] == "done"

    await eventually(done, timeout=60)

    async def complete() -> list[Any] | None:
        reads = await _reads(evaluation, later)
        return reads if reads[3]["quality"]["exemption_conclusions"]["basically_meets"] == 1 else None

    reads = await eventually(complete, timeout=20)
    assert reads[0]["quantity"] == sc.UNIT_A_2025["quantity"]
    assert [reads[1][g] for g in ("quantity", "quality", "benefit")] == [sc.UNIT_A_2026[g] for g in ("quantity", "quality", "benefit")]


async def test_only_the_platform_admin_rebuilds(evaluation: InProcessSystem) -> None:
    """EVA-2: a rebuild is an operator's act; an unknown rebuild is 404."""
    client = evaluation.clients["evaluation"]
    assert (await client.post("/api/v1/evaluation/rebuild", headers=evaluation.auth("department"))).status_code == 403
    assert (await client.get("/api/v1/evaluation/rebuilds/nope", headers=evaluation.auth("platform_admin"))).status_code == 404
