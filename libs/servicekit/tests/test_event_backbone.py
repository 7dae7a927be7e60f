"""The event backbone over a real NATS: CloudEvents on the stream, de-duplicated relays, outages."""
from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import nats
import orjson
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select

from contracts.envelope import STREAM
from servicekit import outbox as outbox_module
from servicekit.clock import real_now
from servicekit.outbox import RELAY_KEY, OutboxRelay, emit
from servicekit.testing import InProcessSystem, eventually


async def _messages_on(nats_url: str, subject: str, expected: int, timeout: float = 10.0) -> list:
    """All messages on a subject, read by a fresh durable consumer as an external subscriber would."""
    connection = await nats.connect(nats_url)
    js = connection.jetstream()
    durable = f"external-{uuid.uuid4().hex[:8]}"
    await js.add_consumer(
        STREAM,
        ConsumerConfig(durable_name=durable, filter_subject=subject, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT),
    )
    subscription = await js.pull_subscribe_bind(durable, stream=STREAM)
    received: list = []
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while len(received) < expected and asyncio.get_running_loop().time() < deadline:
            try:
                batch = await subscription.fetch(batch=100, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            for message in batch:
                await message.ack()
                received.append(message)
        # one more short read proves nothing extra (a duplicate) follows
        try:
            received.extend(await subscription.fetch(batch=100, timeout=0.5))
        except (nats.errors.TimeoutError, TimeoutError):
            pass
    finally:
        await subscription.unsubscribe()
        await js.delete_consumer(STREAM, durable)
        await connection.close()
    return received


async def test_an_external_durable_consumer_receives_unit_registered_as_a_cloudevent(
    system: InProcessSystem, nats_url: str
) -> None:
    unit = await system.register_unit()
    messages = await _messages_on(nats_url, "kezhuan.ownership.unit.registered", expected=10_000, timeout=3)
    mine = [m for m in messages if orjson.loads(m.data)["subject"] == unit["id"]]
    assert len(mine) == 1
    event = orjson.loads(mine[0].data)
    assert mine[0].headers["Nats-Msg-Id"] == event["id"]
    assert event["specversion"] == "1.0"
    assert event["type"] == "ownership.unit.registered"
    assert event["source"] == "/kezhuan/ownership"
    assert event["datacontenttype"] == "application/json"
    assert event["data"]["unit_id"] == unit["id"]
    assert event["data"]["policy"] == unit["policy"]
    assert "requestid" in event and "time" in event


async def test_two_relays_at_once_publish_each_row_once_and_consumers_apply_it_once(
    system: InProcessSystem, nats_url: str
) -> None:
    runtime = system.runtime("ownership")
    marker = uuid.uuid4().hex[:8]
    unit_ids = [f"relay-{marker}-{i}" for i in range(30)]
    async with runtime.sessions() as session, session.begin():
        # Rows written outside the service's hand-over (as after a crash): any relay may claim them.
        session.info.pop(RELAY_KEY)
        event_ids = [
            await emit(
                session,
                runtime.tables,
                source="ownership",
                event_type="ownership.unit.registered",
                subject=unit_id,
                data={"unit_id": unit_id, "name": unit_id, "type": "university", "policy": {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90}, "version": 1},
                at=real_now(),
            )
            for unit_id in unit_ids
        ]
    relays = [OutboxRelay(runtime.sessions, runtime.tables, runtime.nats) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> None:
        for _ in range(50):
            await relay.relay_once()

    await asyncio.gather(*(drain(relay) for relay in relays), drain(runtime.relay))

    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        pending = (
            await session.execute(select(func.count()).where(outbox.c.event_id.in_(event_ids), outbox.c.published_at.is_(None)))
        ).scalar_one()
    assert pending == 0

    messages = await _messages_on(nats_url, "kezhuan.ownership.unit.registered", expected=10_000, timeout=3)
    ids = [orjson.loads(m.data)["id"] for m in messages]
    assert sorted(i for i in ids if i in set(event_ids)) == sorted(event_ids), "each row exactly once on the stream"

    for service in ("pricing", "exemption", "finance"):
        consumer_runtime = system.runtime(service)
        inbox = consumer_runtime.tables.inbox

        async def applied(rt=consumer_runtime, table=inbox) -> bool:
            async with rt.sessions() as session:
                count = (await session.execute(select(func.count()).where(table.c.event_id.in_(event_ids)))).scalar_one()
            return count == len(event_ids)

        await eventually(applied, timeout=5)


async def test_with_nats_stopped_a_write_succeeds_and_its_event_is_delivered_after_nats_returns(
    system: InProcessSystem, nats_server
) -> None:
    nats_server.stop()
    try:
        unit = await system.register_unit(name="NATS 停机期间注册的单位")
        runtime = system.runtime("ownership")
        outbox = runtime.tables.outbox
        async with runtime.sessions() as session:
            row = (await session.execute(select(outbox).where(outbox.c.nats_subject == "kezhuan.ownership.unit.registered").order_by(outbox.c.seq.desc()).limit(1))).first()
        assert row is not None and row.published_at is None
    finally:
        nats_server.start()

    async def delivered() -> bool:
        table = system.runtime("finance").spec.metadata.tables["unit_policies"]
        async with system.runtime("finance").sessions() as session:
            return (await session.execute(select(table.c.unit_id).where(table.c.unit_id == unit["id"]))).first() is not None

    await eventually(delivered, timeout=20)


def _unit_registered(unit_id: str) -> dict:
    return {"unit_id": unit_id, "name": unit_id, "type": "university",
            "policy": {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90}, "version": 1}


async def _emit_unit(session, runtime, unit_id: str) -> str:
    return await emit(session, runtime.tables, source="ownership", event_type="ownership.unit.registered",
                      subject=unit_id, data=_unit_registered(unit_id), at=real_now())


async def _published_at(runtime, event_ids: list[str]) -> dict[str, object]:
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.event_id, outbox.c.published_at).where(outbox.c.event_id.in_(event_ids)))).all()
    return dict(rows)


async def test_committed_events_are_handed_to_the_relay_and_rolled_back_ones_never_are(
    system: InProcessSystem, nats_url: str
) -> None:
    runtime = system.runtime("ownership")
    marker = uuid.uuid4().hex[:8]
    handed: list[str] = []
    async with runtime.sessions() as session:
        session.info[RELAY_KEY] = lambda rows: handed.extend(row.event_id for row in rows)
        async with session.begin():
            kept = await _emit_unit(session, runtime, f"kept-{marker}")
            try:
                async with session.begin_nested():
                    undone = await _emit_unit(session, runtime, f"undone-{marker}")
                    raise LookupError
            except LookupError:
                pass
            async with session.begin_nested():
                released = await _emit_unit(session, runtime, f"released-{marker}")
            assert handed == [], "nothing is handed over before the commit"
        assert handed == [kept, released]
        with pytest.raises(LookupError):
            async with session.begin():
                await _emit_unit(session, runtime, f"rolled-back-{marker}")
                raise LookupError
        assert handed == [kept, released]
        await session.begin()
        await _emit_unit(session, runtime, f"closed-{marker}")
        await session.close()  # ends the transaction without a commit
        async with session.begin():  # the same session, reused
            after_close = await _emit_unit(session, runtime, f"after-close-{marker}")
        assert handed == [kept, released, after_close]
    assert set(await _published_at(runtime, [kept, undone, released])) == {kept, released}


async def test_a_committed_event_is_published_from_memory_and_marked(system: InProcessSystem, nats_url: str) -> None:
    runtime = system.runtime("ownership")
    unit_id = f"fast-{uuid.uuid4().hex[:8]}"
    async with runtime.sessions() as session, session.begin():
        event_id = await _emit_unit(session, runtime, unit_id)

    async def marked() -> bool:
        return (await _published_at(runtime, [event_id]))[event_id] is not None

    await eventually(marked, timeout=5)
    messages = await _messages_on(nats_url, "kezhuan.ownership.unit.registered", expected=10_000, timeout=2)
    assert [orjson.loads(m.data)["id"] for m in messages].count(event_id) == 1


async def test_a_row_whose_process_died_before_publishing_is_published_once_its_claim_runs_out(
    system: InProcessSystem, nats_url: str, monkeypatch
) -> None:
    monkeypatch.setattr(outbox_module, "CLAIM_LEASE", timedelta(seconds=1))
    runtime = system.runtime("ownership")
    unit_id = f"orphan-{uuid.uuid4().hex[:8]}"
    async with runtime.sessions() as session:
        session.info[RELAY_KEY] = lambda rows: None  # the process dies right after its commit
        async with session.begin():
            event_id = await _emit_unit(session, runtime, unit_id)
    other_replica = OutboxRelay(runtime.sessions, runtime.tables, runtime.nats)
    assert await other_replica.relay_once() == 0, "a row held by its own process is not taken while the claim lasts"

    async def published_after_the_claim() -> bool:
        await other_replica.relay_once()
        return (await _published_at(runtime, [event_id]))[event_id] is not None

    await eventually(published_after_the_claim, timeout=5)
    messages = await _messages_on(nats_url, "kezhuan.ownership.unit.registered", expected=10_000, timeout=2)
    assert [orjson.loads(m.data)["id"] for m in messages].count(event_id) == 1
