"""Alembic, one history per service, run programmatically at start-up and by `python -m servicekit.migrations`."""
from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.db import create_engine

REPO_ROOT = Path(__file__).resolve().parents[2]


def migrations_dir(service: str) -> Path:
    """`services/<service>/migrations`; the gateway's are `gateway/migrations`."""
    if service == "gateway":
        return REPO_ROOT / "gateway" / "migrations"
    return REPO_ROOT / "services" / service / "migrations"


def alembic_config(service: str, connection: Any | None = None) -> Config:
    """An Alembic config for one service; date-stamped revision files."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    config.set_main_option(
        "file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s"
    )
    config.attributes["connection"] = connection
    return config


def managed_names(metadata: MetaData) -> Any:
    """Alembic `include_name`: skip objects a migration builds outside the models (names starting with one of
    `metadata.info["unmanaged_prefixes"]`, e.g. a full-text table and its shadow tables)."""
    prefixes = tuple(metadata.info.get("unmanaged_prefixes", ()))

    def include_name(name: str | None, _type: str, _parent: Any) -> bool:
        return not (prefixes and name and name.startswith(prefixes))

    return include_name


def run_env(target_metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`: migrate on the connection we were handed."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through servicekit.migrations, which supplies a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=managed_names(target_metadata),
    )
    with context.begin_transaction():
        context.run_migrations()


async def upgrade_to_head(engine: AsyncEngine, service: str) -> None:
    """Apply every migration; concurrent starters (replicas) wait for each other."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(
                f"SELECT pg_advisory_xact_lock(hashtext('kezhuan-migrate-{service}'))"
            )
        await connection.run_sync(
            lambda sync_connection: command.upgrade(alembic_config(service, sync_connection), "head")
        )


async def _autogenerate(service: str, message: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite+aiosqlite:///{scratch}/scratch.db")
        await upgrade_to_head(engine, service)
        async with engine.begin() as connection:
            await connection.run_sync(
                lambda sync_connection: command.revision(
                    alembic_config(service, sync_connection), message=message, autogenerate=True
                )
            )
        await engine.dispose()


def main() -> None:
    """`python -m servicekit.migrations revision SERVICE -m MESSAGE` autogenerates a migration."""
    parser = argparse.ArgumentParser(prog="python -m servicekit.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    revision = sub.add_parser("revision", help="autogenerate a migration from the service's models")
    revision.add_argument("service")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args()
    import importlib

    importlib.import_module(f"{args.service}.models")
    asyncio.run(_autogenerate(args.service, args.message))


if __name__ == "__main__":
    main()
