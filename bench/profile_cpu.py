"""CPU per request / per event, in-process (cProfile; independent of machine load).

`.venv/bin/python -m pytest bench/profile_cpu.py -q -s -p no:cacheprovider` prints the top functions and the
CPU time per achievement write (scenario 2's path without the gateway) and per consumed event.
Not part of `make test`: it asserts nothing about time and only reports.
"""
from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import time
import uuid

from sqlalchemy import event

from servicekit.testing import InProcessSystem, eventually

WRITES = int(os.environ.get("PROFILE_WRITES", "300"))


def achievement(unit_id: str) -> dict:
    """A valid achievement body for one unit."""
    return {
        "unit_id": unit_id, "title": "一种电池隔膜", "kind": "patent",
        "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:10]}", "granted_on": "2020-05-01"}],
        "completers": [{"person_id": "p-1", "name": "张三"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
        "ethics_review_required": False,
    }


def report(label: str, profile: cProfile.Profile, count: int, wall: float) -> None:
    """Top functions by cumulative and own time, and CPU per operation."""
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    total = stats.total_tt
    print(f"\n=== {label}: {count} ops, wall {wall:.2f} s, profiled CPU {total / count * 1e3:.2f} ms/op")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("cumulative").print_stats(r"logging/__init__|observability", 8)  # the JSON log lines
    print(out.getvalue())


async def test_profile_achievement_write(system: InProcessSystem) -> None:
    unit_id = (await system.register_unit())["id"]
    client, headers = system.clients["ownership"], system.auth("unit_admin", unit_id)
    for _ in range(20):  # warm-up
        assert (await client.post("/api/v1/achievements", json=achievement(unit_id), headers=headers)).status_code == 201
    # Unprofiled first: process CPU (every thread: the aiosqlite connection threads too) per write.
    cpu, started = time.process_time(), time.perf_counter()
    for _ in range(WRITES):
        assert (await client.post("/api/v1/achievements", json=achievement(unit_id), headers=headers)).status_code == 201
    print(f"\n=== unprofiled: {WRITES} writes, process CPU {(time.process_time() - cpu) / WRITES * 1e3:.2f} ms/write, "
          f"wall {(time.perf_counter() - started) / WRITES * 1e3:.2f} ms/write")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(WRITES):
        response = await client.post("/api/v1/achievements", json=achievement(unit_id), headers=headers)
        assert response.status_code == 201
    profile.disable()
    report("POST /api/v1/achievements (ownership, in-process)", profile, WRITES, time.perf_counter() - started)


async def test_statements_per_concurrent_write(system: InProcessSystem) -> None:
    """SQL statements and process CPU per write with 16 concurrent writers (as wrk's 16 connections)."""
    unit_id = (await system.register_unit())["id"]
    client, headers = system.clients["ownership"], system.auth("unit_admin", unit_id)
    engine = system.runtime("ownership").engine.sync_engine
    statements: dict[str, int] = {}

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        verb = " ".join(statement.split()[:3])[:40]
        statements[verb] = statements.get(verb, 0) + 1

    async def writer() -> None:
        for _ in range(WRITES // 16):
            assert (await client.post("/api/v1/achievements", json=achievement(unit_id), headers=headers)).status_code == 201

    await asyncio.gather(*(writer() for _ in range(16)))  # warm-up
    await asyncio.sleep(1.5)  # let the relay and the audit sealing catch up
    event.listen(engine, "before_cursor_execute", count)
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(16)))
    await asyncio.sleep(1.5)  # the relay and the sealing of these writes belong to their cost
    cpu = time.process_time() - cpu
    event.remove(engine, "before_cursor_execute", count)
    writes = WRITES // 16 * 16
    print(f"\n=== 16 concurrent writers: {writes} writes, process CPU {cpu / writes * 1e3:.2f} ms/write "
          f"(incl. 1.5 s idle tail), wall {time.perf_counter() - started - 1.5:.2f} s; "
          f"ownership SQL statements per write {sum(statements.values()) / writes:.2f}")
    for verb, n in sorted(statements.items(), key=lambda item: -item[1]):
        print(f"  {n / writes:6.2f}  {verb}")


EVENTS = int(os.environ.get("PROFILE_EVENTS", "500"))


async def test_profile_record_step_consumer(system: InProcessSystem, nats_url: str) -> None:
    """CPU per `pricing.record.appended` applied by exemption (inbox + handler), published in bulk."""
    import nats
    import orjson

    from contracts.envelope import CloudEvent, subject_for
    from servicekit.clock import real_now

    unit_id = (await system.register_unit())["id"]
    runner = next(r for r in system.runtime("exemption").consumers if r.durable.endswith("pricing-record"))
    connection = await nats.connect(nats_url)
    js = connection.jetstream()

    async def publish(count: int) -> None:
        for _ in range(count):
            data = {"transaction_id": f"tx-{uuid.uuid4().hex[:8]}", "unit_id": unit_id, "achievement_id": "ach-1",
                    "seq": 1, "at": real_now().isoformat(), "step": "opened", "actor": "unit_admin",
                    "details": {"method": "agreement"}}
            event = CloudEvent(id=uuid.uuid4().hex, source="/kezhuan/pricing", type="pricing.record.appended",
                               time=real_now(), subject=data["transaction_id"], data=data)
            await js.publish(subject_for(event.type), orjson.dumps(event.model_dump(mode="json", exclude_none=True)),
                             headers={"Nats-Msg-Id": event.id})

    async def consumed(target: int) -> None:
        await eventually(lambda: _true(runner.applied >= target), timeout=120, interval=0.02)

    try:
        await publish(50)
        await consumed(runner.applied + 50 - runner.applied)  # warm-up
        for profiled in (False, True):
            target = runner.applied + EVENTS
            profile = cProfile.Profile()
            cpu, started = time.process_time(), time.perf_counter()
            if profiled:
                profile.enable()
            await publish(EVENTS)
            await consumed(target)
            if profiled:
                profile.disable()
                report("pricing.record.appended consumed by exemption", profile, EVENTS, time.perf_counter() - started)
            else:
                print(f"\n=== unprofiled: {EVENTS} events, process CPU {(time.process_time() - cpu) / EVENTS * 1e3:.2f} ms/event "
                      f"(publishing included), wall {time.perf_counter() - started:.2f} s")
    finally:
        await connection.close()


async def _true(value: bool) -> bool:
    return value


async def test_profile_achievement_read(system: InProcessSystem) -> None:
    """CPU per GET /api/v1/achievements/{id} (scenario 1's path without the gateway)."""
    unit_id = (await system.register_unit())["id"]
    client, headers = system.clients["ownership"], system.auth("unit_admin", unit_id)
    created = (await client.post("/api/v1/achievements", json=achievement(unit_id), headers=headers)).json()
    path = f"/api/v1/achievements/{created['id']}"
    for _ in range(20):
        assert (await client.get(path, headers=headers)).status_code == 200
    cpu = time.process_time()
    for _ in range(WRITES):
        assert (await client.get(path, headers=headers)).status_code == 200
    print(f"\n=== unprofiled: {WRITES} reads, process CPU {(time.process_time() - cpu) / WRITES * 1e3:.2f} ms/read")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(WRITES):
        assert (await client.get(path, headers=headers)).status_code == 200
    profile.disable()
    report("GET /api/v1/achievements/{id} (ownership, in-process)", profile, WRITES, time.perf_counter() - started)
