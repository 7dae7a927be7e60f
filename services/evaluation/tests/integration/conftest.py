"""The evaluation service alone, on its own NATS server: its model must come from events only (EVA-2).

The other services would react to the scenario's events (finance books income for a deal, and so on)
and add events of their own; here only the scenario's events reach the stream.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from evaluation.app import create_app
from kezhuan.embedded_nats import EmbeddedNats
from servicekit.testing import DatabaseFactory, InProcessSystem, build_settings, eventually


@pytest.fixture(scope="module")
def evaluation_nats(tmp_path_factory: pytest.TempPathFactory) -> str:
    server = EmbeddedNats(tmp_path_factory.mktemp("evaluation-nats"))
    server.start()
    yield server.url
    server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def evaluation(
    evaluation_nats: str, databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[InProcessSystem]:
    """Only the evaluation service, started on the module's NATS with a fresh database."""
    data_dir: Path = tmp_path_factory.mktemp("evaluation-data")
    settings = await build_settings(databases, evaluation_nats, data_dir, tag=f"_{data_dir.name}")
    app = create_app(settings=settings, peers={})
    system = InProcessSystem({"evaluation": app}, settings.jwt_secret.get_secret_value())
    async with app.router.lifespan_context(app):
        async def ready() -> bool:
            return (await system.clients["evaluation"].get("/readyz")).status_code == 200

        await eventually(ready, timeout=20)
        yield system
        await system.aclose()

