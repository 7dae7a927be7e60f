"""The four services in-process over one real NATS and real databases: the `system` and `clock` fixtures.

They live here, not in servicekit.testing, because they import every service and a library must not
import its users; the root conftest.py registers this module as a plugin next to servicekit.testing.
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from servicekit.testing import DatabaseFactory, InProcessSystem, build_settings, eventually


def service_factories() -> dict[str, Callable[..., Any]]:
    """Each service's app factory, by service name."""
    from evaluation.app import create_app as evaluation_app
    from exemption.app import create_app as exemption_app
    from finance.app import create_app as finance_app
    from ownership.app import create_app as ownership_app
    from pricing.app import create_app as pricing_app

    return {
        "ownership": ownership_app,
        "pricing": pricing_app,
        "exemption": exemption_app,
        "finance": finance_app,
        "evaluation": evaluation_app,
    }


@pytest_asyncio.fixture(scope="session")
async def system(
    databases: DatabaseFactory, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcessSystem]:
    """All four services in-process, started once per test session."""
    settings = await build_settings(databases, nats_url, tmp_path_factory.mktemp("data"))
    peers: dict[str, httpx.AsyncClient] = {}
    apps = {name: factory(settings=settings, peers=peers) for name, factory in service_factories().items()}
    built = InProcessSystem(apps, settings.jwt_secret.get_secret_value())
    # Each runtime picks its peers at start-up, so the in-process clients must exist before any starts.
    peers.update(built.clients)
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        for name in apps:
            await eventually(lambda name=name: _ready(built, name), timeout=20)
        yield built
        await built.reset_clock()
        await built.aclose()


async def _ready(system: InProcessSystem, name: str) -> bool:
    response = await system.clients[name].get("/readyz")
    return response.status_code == 200


@pytest_asyncio.fixture
async def clock(system: InProcessSystem) -> AsyncIterator[Callable[[datetime], Awaitable[None]]]:
    """Set the test clock; it is reset to real time after the test."""
    yield system.set_clock
    await system.reset_clock()
