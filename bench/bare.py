"""Bare baselines the benchmark compares the system with: an in-memory read and a bare insert.

Both run as one uvicorn worker (uvloop, httptools), like every service; the insert endpoint uses
servicekit's engine on the same database URL as the service it is compared with, so the ratio is
the cost of the system's layers, not of the database.
"""
from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text

from servicekit.db import create_engine

read_app = FastAPI()


@read_app.get("/api/v1/units/{unit_id}")
async def get_unit(unit_id: str) -> dict[str, object]:
    """A small JSON read, like a service answering from memory."""
    return {
        "id": unit_id,
        "name": "Dalian Institute",
        "type": "research_institute",
        "policy": {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90},
        "version": 1,
    }


_metadata = MetaData()
bare_rows = Table(
    "bench_bare_rows",
    _metadata,
    Column("id", String(64), primary_key=True),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def create_insert_app() -> FastAPI:
    """`POST /bare`: one SQLAlchemy Core insert in its own transaction, on $BENCH_DATABASE_URL."""
    engine = create_engine(os.environ["BENCH_DATABASE_URL"])
    app = FastAPI()

    @app.on_event("startup")
    async def create_table() -> None:
        async with engine.begin() as connection:
            await connection.run_sync(_metadata.create_all)

    @app.post("/bare", status_code=201)
    async def insert(body: dict[str, object]) -> dict[str, str]:
        row_id = uuid.uuid4().hex
        async with engine.begin() as connection:
            await connection.execute(
                bare_rows.insert().values(id=row_id, body=str(body), created_at=datetime.now(UTC).replace(tzinfo=None))
            )
        return {"id": row_id}

    return app
