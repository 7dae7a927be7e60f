"""pytest fixtures shared by every test suite: a real NATS server, real databases, the in-process system's harness.

Registered from the root conftest.py; the fixture that starts the four services is in tests/in_process.py.
Set KEZHUAN_TEST_POSTGRES_URL (e.g. `postgresql+asyncpg://postgres@127.0.0.1:5432/postgres`) to run
everything on PostgreSQL: each run creates fresh databases and drops them at the end.
"""
from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from kezhuan.embedded_nats import EmbeddedNats
from servicekit.auth import mint_token
from servicekit.clock import real_now
from servicekit.settings import DEV_JWT_SECRET, SERVICES, KezhuanSettings

POSTGRES_ENV = "KEZHUAN_TEST_POSTGRES_URL"


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns a truthy value (no fixed sleeps in tests)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s (last value: {last!r})")


class PostgresDatabases:
    """Fresh PostgreSQL databases for one test run, dropped at the end."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.prefix = f"kz_test_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def _admin_dsn(self) -> str:
        return self.base_url.replace("postgresql+asyncpg://", "postgresql://")

    def url_for(self, name: str) -> str:
        head, _, _ = self.base_url.rpartition("/")
        return f"{head}/{self.prefix}_{name}"

    async def create(self, name: str) -> str:
        import asyncpg

        connection = await asyncpg.connect(self._admin_dsn())
        try:
            await connection.execute(f'CREATE DATABASE "{self.prefix}_{name}"')
        finally:
            await connection.close()
        self.created.append(f"{self.prefix}_{name}")
        return self.url_for(name)

    async def drop_all(self) -> None:
        import asyncpg

        connection = await asyncpg.connect(self._admin_dsn())
        try:
            for database in self.created:
                await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await connection.close()


class DatabaseFactory:
    """Hands out a fresh database URL per name: SQLite files, or PostgreSQL databases."""

    def __init__(self, root: Path) -> None:
        self.root = root
        postgres = os.environ.get(POSTGRES_ENV)
        self.postgres = PostgresDatabases(postgres) if postgres else None

    async def url(self, name: str) -> str:
        if self.postgres:
            return await self.postgres.create(name)
        return f"sqlite+aiosqlite:///{self.root / f'{name}.db'}"

    async def close(self) -> None:
        if self.postgres:
            await self.postgres.drop_all()


class InProcessSystem:
    """The four services as ASGI apps in this process, over one real NATS and real databases."""

    def __init__(self, apps: dict[str, Any], secret: str) -> None:
        self.apps = apps
        self.secret = secret
        self.clients: dict[str, httpx.AsyncClient] = {
            name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            for name, app in apps.items()
        }

    def runtime(self, service: str) -> Any:
        return self.apps[service].state.runtime

    def token(self, role: str, unit_id: str | None = None, sub: str | None = None, **extra: Any) -> str:
        return mint_token(self.secret, sub=sub or f"{role}-{uuid.uuid4().hex[:8]}", roles=[role], unit_id=unit_id, **extra)

    def auth(self, role: str, unit_id: str | None = None, sub: str | None = None) -> dict[str, str]:
        """Authorization header for a caller with one role."""
        return {"Authorization": f"Bearer {self.token(role, unit_id, sub)}"}

    async def set_clock(self, instant: datetime) -> None:
        """Set the test clock of every service to the same instant."""
        body = {"now": instant.isoformat(), "set_at": real_now().isoformat()}
        for client in self.clients.values():
            response = await client.put("/internal/test-clock", json=body)
            assert response.status_code == 200, response.text

    async def reset_clock(self) -> None:
        for client in self.clients.values():
            await client.delete("/internal/test-clock")

    async def register_unit(self, **overrides: Any) -> dict[str, Any]:
        """A fresh unit, so tests never share state."""
        body = {"name": f"大连理工大学-{uuid.uuid4().hex[:6]}", "type": "university", **overrides}
        response = await self.clients["ownership"].post("/api/v1/units", json=body, headers=self.auth("platform_admin"))
        assert response.status_code == 201, response.text
        return response.json()

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real nats-server with JetStream on a free port, for the whole test session."""
    server = EmbeddedNats(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: EmbeddedNats) -> str:
    assert nats_server.url is not None, "known once the server has started"
    return nats_server.url


@pytest_asyncio.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    await factory.close()


async def build_settings(databases: DatabaseFactory, nats_url: str, data_dir: Path, tag: str = "") -> KezhuanSettings:
    urls: dict[str, Any] = {f"database_url_{name}": await databases.url(f"{name}{tag}") for name in SERVICES}
    return KezhuanSettings(
        env="test", nats_url=nats_url, data_dir=data_dir, jwt_secret=DEV_JWT_SECRET, db_pool_size=3, db_max_overflow=2,
        settle_gc=False, **urls
    )


async def publish_event(
    nats_url: str,
    event_type: str,
    subject: str,
    data: dict[str, Any],
    event_id: str | None = None,
    msg_id: str | None = None,
) -> str:
    """Publish an event as another service would (CloudEvent, Nats-Msg-Id = id); returns its id.

    For tests of a consumer whose producing service is not part of the test: the message travels
    through the real NATS server and the consumer's durable, exactly as in production.
    """
    import nats
    import orjson

    from contracts.envelope import CloudEvent, subject_for

    event = CloudEvent(
        id=event_id or uuid.uuid4().hex,
        source=f"/kezhuan/{event_type.split('.')[0]}",
        type=event_type,
        time=real_now(),
        subject=subject,
        data=data,
    )
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        await js.publish(
            subject_for(event_type),
            orjson.dumps(event.model_dump(mode="json", exclude_none=True)),
            headers={"Nats-Msg-Id": msg_id or event.id},
        )
    finally:
        await connection.close()
    return event.id
