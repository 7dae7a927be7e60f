"""Every service's migrations build exactly the tables its models declare (no drift), on SQLite or PostgreSQL."""
from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from servicekit.db import create_engine
from servicekit.migrations import managed_names, upgrade_to_head
from servicekit.settings import SERVICES
from servicekit.testing import DatabaseFactory


@pytest.mark.parametrize("service", (*SERVICES, "gateway"))
async def test_migrations_match_the_models_and_reapply_cleanly(service: str, databases: DatabaseFactory) -> None:
    metadata = importlib.import_module(f"{service}.models").Base.metadata
    engine = create_engine(await databases.url(f"migrations_{service}"))
    try:
        await upgrade_to_head(engine, service)
        await upgrade_to_head(engine, service)  # a second start (or replica) finds nothing to do
        async with engine.connect() as connection:
            drift = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": False, "include_name": managed_names(metadata)}), metadata)
            )
        assert drift == [], f"models and migrations of {service} differ: {drift}"
    finally:
        await engine.dispose()
