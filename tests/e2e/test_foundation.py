"""The foundation as users meet it: through the gateway, services as processes, real NATS."""
from __future__ import annotations

import asyncio
import signal
import uuid

import pytest

from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem

pytestmark = pytest.mark.e2e


async def _policy_count(running: RunningSystem, service: str, unit_ids: list[str]) -> int:
    rows = await running.query(service, "SELECT unit_id FROM unit_policies")
    return len({row.unit_id for row in rows} & set(unit_ids))


async def test_unit_registered_through_the_gateway_reaches_every_service_within_2_s(running: RunningSystem) -> None:
    response = await running.http.post(
        "/api/v1/units", json={"name": "沈阳工业大学", "type": "university"}, headers=running.auth("platform_admin")
    )
    assert response.status_code == 201, response.text
    unit_id = response.json()["id"]
    for service in ("pricing", "exemption", "finance"):
        await eventually(lambda s=service: _policy_count(running, s, [unit_id]), timeout=2)


async def test_a_consumer_killed_while_events_flow_applies_every_event_exactly_once(running: RunningSystem) -> None:
    admin = running.auth("platform_admin")
    unit_ids: list[str] = []

    async def register(n: int) -> None:
        for i in range(n):
            response = await running.http.post(
                "/api/v1/units", json={"name": f"辽宁科技大学-{uuid.uuid4().hex[:6]}-{i}", "type": "university"}, headers=admin
            )
            assert response.status_code == 201, response.text
            unit_ids.append(response.json()["id"])

    async def ten_written() -> bool:
        return len(unit_ids) >= 10

    writer = asyncio.create_task(register(40))
    await eventually(ten_written, timeout=20)
    await asyncio.to_thread(running.supervisor.kill, "finance", signal.SIGKILL)
    await writer
    await running.restart("finance")

    async def all_applied() -> bool:
        return await _policy_count(running, "finance", unit_ids) == len(unit_ids)

    await eventually(all_applied, timeout=45)
    inbox = await running.query(
        "finance",
        "SELECT event_id, count(*) AS n FROM inbox WHERE consumer = 'finance-unit-policies' GROUP BY event_id HAVING count(*) > 1",
    )
    assert inbox == []
