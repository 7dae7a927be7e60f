"""The audit trail is a hash chain: every state change is in it, and editing the past is detected."""
from __future__ import annotations

import asyncio

from sqlalchemy import select, update

from servicekit.audit import seal_pending
from servicekit.testing import InProcessSystem

ACHIEVEMENT = {
    "title": "高强钢焊接工艺",
    "kind": "know_how",
    "ip_rights": [],
    "completers": [{"person_id": "p-1", "name": "李明"}],
    "security": {"national_interest": False, "classified": False, "key_core_technology": False},
    "ethics_review_required": False,
}


async def _verify(system: InProcessSystem, service: str = "ownership") -> dict:
    response = await system.clients[service].get(
        "/api/v1/audit/verify", params={"service": service}, headers=system.auth("platform_admin")
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_state_change_is_chained_with_its_actor_and_request(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    admin = system.auth("unit_admin", unit["id"], sub="audit-unit-admin")
    response = await system.clients["ownership"].post(
        "/api/v1/achievements", json={"unit_id": unit["id"], **ACHIEVEMENT}, headers={**admin, "X-Request-ID": "audit-req-1"}
    )
    assert response.status_code == 201, response.text
    achievement_id = response.json()["id"]

    report = await _verify(system)
    assert report["service"] == "ownership" and report["intact"] is True and report["first_broken_seq"] is None

    runtime = system.runtime("ownership")
    table = runtime.tables.audit
    async with runtime.sessions() as session:
        row = (await session.execute(select(table).where(table.c.aggregate_id == achievement_id))).one()
        outbox_types = (await session.execute(select(runtime.tables.outbox.c.type))).scalars().all()
    assert report["entries"] >= len(outbox_types) >= 2
    assert (row.event_type, row.actor, row.request_id) == ("ownership.achievement.registered", "audit-unit-admin", "audit-req-1")
    assert row.position is not None and len(row.entry_hash) == 64


async def test_editing_a_past_entry_in_the_database_is_detected(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    await system.register_unit()  # a later entry, so the edited one is in the past
    runtime = system.runtime("ownership")
    table = runtime.tables.audit
    await seal_pending(runtime.sessions, table)
    async with runtime.sessions() as session:
        row = (await session.execute(select(table).where(table.c.aggregate_id == unit["id"]))).one()
    assert (await _verify(system))["intact"] is True

    async with runtime.sessions() as session, session.begin():
        await session.execute(update(table).where(table.c.seq == row.seq).values(actor="someone-else"))
    try:
        report = await _verify(system)
        assert report["intact"] is False
        assert report["first_broken_seq"] == row.position
    finally:
        async with runtime.sessions() as session, session.begin():
            await session.execute(update(table).where(table.c.seq == row.seq).values(actor=row.actor))
    assert (await _verify(system))["intact"] is True


async def test_two_sealers_at_once_build_one_unbroken_chain(system: InProcessSystem) -> None:
    for _ in range(5):
        await system.register_unit()
    runtime = system.runtime("ownership")
    await asyncio.gather(*(seal_pending(runtime.sessions, runtime.tables.audit) for _ in range(3)))
    report = await _verify(system)
    assert report["intact"] is True


async def test_only_the_platform_admin_may_verify(system: InProcessSystem) -> None:
    client = system.clients["finance"]
    assert (await client.get("/api/v1/audit/verify", headers=system.auth("department"))).status_code == 403
    assert (await client.get("/api/v1/audit/verify")).status_code == 401
