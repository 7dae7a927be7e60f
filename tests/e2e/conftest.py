"""The whole system as processes (the same launcher as `make run`), on its own NATS and databases."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from kezhuan.embedded_nats import free_port
from kezhuan.launcher import Supervisor
from servicekit.auth import mint_token
from servicekit.db import create_engine
from servicekit.settings import DEV_JWT_SECRET, SERVICES
from servicekit.testing import DatabaseFactory


class RunningSystem:
    """A started Supervisor plus helpers to talk to it and to look into its databases."""

    def __init__(self, supervisor: Supervisor, database_urls: dict[str, str]) -> None:
        self.supervisor = supervisor
        self.database_urls = database_urls
        self.http = httpx.AsyncClient(base_url=supervisor.gateway_url, timeout=15)

    def auth(self, role: str, unit_id: str | None = None, sub: str | None = None) -> dict[str, str]:
        token = mint_token(DEV_JWT_SECRET, sub=sub or f"{role}-e2e", roles=[role], unit_id=unit_id)
        return {"Authorization": f"Bearer {token}"}

    async def query(self, service: str, sql: str, **params: Any) -> list[Any]:
        """Read a service's database directly (to prove what was applied, and how often)."""
        engine = create_engine(self.database_urls[service])
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(text(sql), params)).all())
        finally:
            await engine.dispose()

    async def set_clock(self, instant: datetime) -> None:
        """Make `instant` "now" for every service, through the gateway as integrators do."""
        response = await self.http.put("/api/v1/test-clock", json={"now": instant.isoformat()})
        assert response.status_code == 200, response.text

    async def reset_clock(self) -> None:
        """Return every service to real time."""
        response = await self.http.delete("/api/v1/test-clock")
        assert response.status_code == 200, response.text

    async def register_unit(self, **overrides: Any) -> dict[str, Any]:
        """A fresh unit, so journeys never share state."""
        body = {"name": f"大连理工大学-{uuid.uuid4().hex[:6]}", "type": "university", **overrides}
        response = await self.http.post("/api/v1/units", json=body, headers=self.auth("platform_admin"))
        assert response.status_code == 201, response.text
        return response.json()

    async def event_types(self) -> set[str]:
        """Every event type stored on the KEZHUAN stream so far (what subscribers could have seen)."""
        import nats
        import orjson

        from contracts.envelope import STREAM

        connection = await nats.connect(self.supervisor.nats_url)
        try:
            js = connection.jetstream()
            info = await js.stream_info(STREAM)
            types: set[str] = set()
            for seq in range(info.state.first_seq, info.state.last_seq + 1):
                message = await js.get_msg(STREAM, seq)
                types.add(orjson.loads(message.data)["type"])
            return types
        finally:
            await connection.close()

    async def restart(self, name: str) -> None:
        await asyncio.to_thread(self.supervisor.start, name)
        await asyncio.to_thread(self.supervisor.wait_ready, self.supervisor.service_url(name) if name != "gateway" else None)


@pytest_asyncio.fixture(scope="module")
async def running(databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningSystem]:
    data_dir = tmp_path_factory.mktemp("e2e")
    urls = {name: await databases.url(f"e2e_{name}_{data_dir.name}") for name in SERVICES}
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
    try:
        await asyncio.to_thread(supervisor.start_all)
        await asyncio.to_thread(supervisor.wait_ready, None, 90)
        system = RunningSystem(supervisor, urls)
        yield system
        await system.http.aclose()
    finally:
        await asyncio.to_thread(supervisor.stop_all)
