"""Small helpers shared by finance's integration tests."""
from __future__ import annotations

from typing import Any

import httpx
import orjson
from sqlalchemy import select

from servicekit.testing import InProcessSystem


def problem(response: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    """Assert a problem+json refusal with the given status and rule."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.get("rule") == rule, body
    return body


async def finance_events(system: InProcessSystem, event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
    """Finance's outbox envelopes of one type (and aggregate), oldest first."""
    runtime = system.runtime("finance")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.seq))).scalars()
        envelopes = [orjson.loads(row) for row in rows]
    return [e for e in envelopes if subject is None or e["subject"] == subject]
