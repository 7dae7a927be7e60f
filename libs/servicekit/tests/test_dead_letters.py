"""A poisoned event is dead-lettered after max_deliver failures, and a redrive after the fix applies it once."""
from __future__ import annotations

import asyncio
import uuid

import nats
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import STREAM, CloudEvent
from contracts.events import EventPayload
from servicekit.consumers import ConsumerRunner, ConsumerSpec, EventRefused, Handles
from servicekit.testing import InProcessSystem, eventually, publish_event

POISON_TYPE = "ownership.poison_test.happened"


class Marked(EventPayload):
    marker: str


class PoisonableHandler:
    """Fails for the poisoned payload until `fixed`; records each committed application."""

    def __init__(self, poison: str) -> None:
        self.poison = poison
        self.fixed = False
        self.applied: list[str] = []

    async def __call__(self, session: AsyncSession, payload: Marked, event: CloudEvent) -> None:
        if payload.marker == self.poison and not self.fixed:
            raise ValueError(f"cannot handle marker {self.poison}")
        self.applied.append(event.id)


async def test_a_poisoned_event_is_dead_lettered_then_redriven_once_after_the_fix(
    system: InProcessSystem, nats_url: str
) -> None:
    runtime = system.runtime("ownership")
    client = system.clients["ownership"]
    admin = system.auth("platform_admin")
    poison = uuid.uuid4().hex
    handler = PoisonableHandler(poison)
    spec = ConsumerSpec(name=f"poison-{poison[:8]}", handles={POISON_TYPE: Handles(Marked, handler)})
    runner = ConsumerRunner("ownership", spec, runtime.sessions, runtime.tables, runtime.nats, 3)
    runtime.consumers.append(runner)
    task = asyncio.create_task(runner.run())
    try:
        healthy = await publish_event(nats_url, POISON_TYPE, "healthy", {"marker": "healthy"})
        poisoned = await publish_event(nats_url, POISON_TYPE, "poisoned", {"marker": poison})
        await eventually(lambda: _true(runner.dead_lettered == 1), timeout=20)
        assert handler.applied == [healthy]

        async def listed() -> list:
            response = await client.get("/api/v1/dead-letters", headers=admin)
            assert response.status_code == 200, response.text
            return [item for item in response.json()["items"] if item["event_id"] == poisoned]

        [letter] = await eventually(listed)
        assert letter["consumer"] == runner.durable
        assert letter["deliveries"] == 3
        assert "cannot handle marker" in letter["reason"]
        assert letter["envelope"]["data"] == {"marker": poison}

        shown = await client.get(f"/api/v1/dead-letters/{letter['id']}", headers=admin)
        assert shown.status_code == 200 and shown.json()["event_id"] == poisoned
        assert (await client.get("/api/v1/dead-letters", headers=system.auth("unit_admin", "u1"))).status_code == 403
        other = await system.clients["pricing"].get(f"/api/v1/dead-letters/{letter['id']}", headers=admin)
        assert other.status_code == 404

        still_broken = await client.post(f"/api/v1/dead-letters/{letter['id']}/redrive", headers=admin)
        assert still_broken.status_code == 409
        assert (await client.get(f"/api/v1/dead-letters/{letter['id']}", headers=admin)).status_code == 200

        handler.fixed = True
        redriven = await client.post(f"/api/v1/dead-letters/{letter['id']}/redrive", headers=admin)
        assert redriven.status_code == 200, redriven.text
        assert redriven.json()["applied"] is True
        assert handler.applied == [healthy, poisoned]
        assert (await client.get(f"/api/v1/dead-letters/{letter['id']}", headers=admin)).status_code == 404
        again = await client.post(f"/api/v1/dead-letters/{letter['id']}/redrive", headers=admin)
        assert again.status_code == 404

        inbox = runtime.tables.inbox
        async with runtime.sessions() as session:
            rows = (
                await session.execute(
                    select(func.count()).where(inbox.c.consumer == runner.durable, inbox.c.event_id == poisoned)
                )
            ).scalar_one()
        assert rows == 1
        assert handler.applied.count(poisoned) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        runtime.consumers.remove(runner)
        connection = await nats.connect(nats_url)
        try:
            await connection.jetstream().delete_consumer(STREAM, runner.durable)
        finally:
            await connection.close()


async def test_a_refused_event_is_dead_lettered_on_its_first_delivery_with_the_reason(
    system: InProcessSystem, nats_url: str
) -> None:
    runtime = system.runtime("ownership")
    marker = uuid.uuid4().hex
    event_type = f"ownership.refusal_test.{marker[:8]}"  # its own type: this durable sees no earlier test's events
    applied: list[str] = []

    async def refuse_unknown(session: AsyncSession, payload: Marked, event: CloudEvent) -> None:
        if payload.marker != "known":
            raise EventRefused(f"marker {payload.marker} is unknown here")
        applied.append(event.id)

    spec = ConsumerSpec(name=f"refusing-{marker[:8]}", handles={event_type: Handles(Marked, refuse_unknown)})
    runner = ConsumerRunner("ownership", spec, runtime.sessions, runtime.tables, runtime.nats, 20)
    runtime.consumers.append(runner)
    task = asyncio.create_task(runner.run())
    try:
        refused = await publish_event(nats_url, event_type, "refused", {"marker": marker})
        known = await publish_event(nats_url, event_type, "known", {"marker": "known"})
        await eventually(lambda: _true(runner.dead_lettered == 1 and known in applied), timeout=20)
        [letter] = [
            item
            for item in (await runtime.dead_letters.page(0, 200))[0]
            if item.consumer == runner.durable and item.event_id == refused
        ]
        assert letter.deliveries == 1, "a refusal is not retried"
        assert letter.reason == f"EventRefused: marker {marker} is unknown here"
        assert applied == [known] and runner.redelivered == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        runtime.consumers.remove(runner)
        connection = await nats.connect(nats_url)
        try:
            await connection.jetstream().delete_consumer(STREAM, runner.durable)
        finally:
            await connection.close()


async def _true(value: bool) -> bool:
    return value
