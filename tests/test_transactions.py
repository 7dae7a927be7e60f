"""The request owns its transaction: a write is kept iff its handler returns; a read never takes the write lock."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import func, select, text

from ownership import service as ownership_service
from ownership.models import Unit
from ownership.schemas import UnitCreate
from servicekit.db import is_sqlite
from servicekit.errors import InvalidState
from servicekit.testing import InProcessSystem
from servicekit.web import Ctx, service_router

PROBE = "/api/v1/transaction-probe"


class SessionFacts(BaseModel):
    """What the request's session is: whether its transaction may write."""

    read_only: bool


def _probe_router(registered: list[str]) -> Any:
    router = service_router()

    @router.post(PROBE, status_code=201)
    async def register_then_maybe_fail(ctx: Ctx, fail: bool = False) -> Any:
        """Register a unit (with its event), then refuse when `fail`: the refusal must undo the unit and its event."""
        unit = await ownership_service.register_unit(
            ctx.session, actor=ctx.user, data=UnitCreate(name=f"探针-{uuid.uuid4().hex[:6]}", type="university"), now=ctx.now
        )
        registered.append(unit.id)
        if fail:
            raise InvalidState("the handler refused after writing")
        return unit

    @router.post(f"{PROBE}/lookups")
    async def look_up(ctx: Ctx, after_writing: bool = False) -> SessionFacts:
        """Look up a challenge at pricing, before or after this request's transaction has begun."""
        if after_writing:
            await ctx.session.execute(text("SELECT 1"))
        await ctx.runtime.lookup("pricing", "/api/v1/challenges/no-such-challenge")
        return SessionFacts(read_only=False)

    @router.get(f"{PROBE}/session")
    async def describe_session(ctx: Ctx) -> SessionFacts:
        """Whether this read's session is read-only on its backend."""
        if ctx.session.bind.dialect.name == "sqlite":
            flag = (await ctx.session.execute(text("PRAGMA query_only"))).scalar()
            return SessionFacts(read_only=flag == 1)
        flag = (await ctx.session.execute(text("SHOW transaction_read_only"))).scalar()
        return SessionFacts(read_only=flag == "on")

    return router


@pytest_asyncio.fixture
async def probe(system: InProcessSystem) -> AsyncIterator[list[str]]:
    """Probe routes mounted on the ownership app for one test; yields the ids of the units their handler registered."""
    app: FastAPI = system.apps["ownership"]
    registered: list[str] = []
    before = list(app.router.routes)
    app.include_router(_probe_router(registered))
    yield registered
    app.router.routes[:] = before


async def _stored(system: InProcessSystem, unit_id: str) -> tuple[int, int]:
    """(unit rows, outbox rows) stored for the unit."""
    runtime = system.runtime("ownership")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        units = (await session.execute(select(func.count()).select_from(Unit).where(Unit.id == unit_id))).scalar_one()
        envelopes = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == "ownership.unit.registered"))).scalars()
        events = sum(unit_id.encode() in envelope for envelope in envelopes)
    return units, events


async def test_a_write_is_kept_with_its_event_when_its_handler_returns(system: InProcessSystem, probe: list[str]) -> None:
    response = await system.clients["ownership"].post(PROBE, headers=system.auth("platform_admin"))
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    assert await _stored(system, probe[0]) == (1, 1)


async def test_a_write_whose_handler_raises_is_not_kept_and_emits_no_event(system: InProcessSystem, probe: list[str]) -> None:
    headers = {**system.auth("platform_admin"), "Idempotency-Key": uuid.uuid4().hex}
    refused = await system.clients["ownership"].post(PROBE, params={"fail": "true"}, headers=headers)
    assert refused.status_code == 409, refused.text
    assert await _stored(system, probe[0]) == (0, 0)
    # Nor was the Idempotency-Key kept: the same request runs again (and fails again) instead of replaying.
    again = await system.clients["ownership"].post(PROBE, params={"fail": "true"}, headers=headers)
    assert again.status_code == 409 and len(probe) == 2
    assert await _stored(system, probe[1]) == (0, 0)


async def test_a_read_runs_in_a_read_only_session(system: InProcessSystem, probe: list[str]) -> None:
    response = await system.clients["ownership"].get(f"{PROBE}/session", headers=system.auth("platform_admin"))
    assert response.status_code == 200, response.text
    assert response.json() == {"read_only": True}


async def test_a_get_succeeds_while_another_connection_holds_the_write_lock(system: InProcessSystem) -> None:
    runtime = system.runtime("ownership")
    if not is_sqlite(runtime.settings.database_url("ownership")):
        pytest.skip("SQLite's database-wide write lock; PostgreSQL reads are READ ONLY (test above)")
    client, admin = system.clients["ownership"], system.auth("platform_admin")
    unit = await system.register_unit()
    async with runtime.engine.connect() as writer, writer.begin():
        await writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: this connection holds the write lock
        blocked_write = asyncio.create_task(system.register_unit())
        read = await asyncio.wait_for(client.get(f"/api/v1/units/{unit['id']}", headers=admin), timeout=30)
        assert read.status_code == 200 and read.json()["id"] == unit["id"]
        assert not blocked_write.done()  # the lock is real: a write waits for it
    assert (await blocked_write)["id"]


async def test_a_lookup_at_another_service_runs_only_before_the_write_transaction(system: InProcessSystem, probe: list[str]) -> None:
    client, admin = system.clients["ownership"], system.auth("platform_admin")
    assert (await client.post(f"{PROBE}/lookups", headers=admin)).status_code == 200
    with pytest.raises(RuntimeError, match="inside a database transaction"):  # a programming error, raised in tests
        await client.post(f"{PROBE}/lookups", params={"after_writing": "true"}, headers=admin)
