"""Helpers for ownership integration tests: a unit with its admin, achievements, empowerments, events."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from servicekit.testing import InProcessSystem, eventually, publish_event

DECISION = {"body": "校长办公会", "date": "2030-01-10", "reference": "大工办〔2030〕3号"}


class Unit:
    """A fresh unit and ready-made callers of it."""

    decision = DECISION

    def __init__(self, system: InProcessSystem, unit: dict[str, Any]) -> None:
        self.system = system
        self.id = unit["id"]
        self.data = unit
        self.client = system.clients["ownership"]
        self.admin = system.auth("unit_admin", self.id)
        self.researcher = system.auth("researcher", self.id)

    async def achievement(self, *, granted_on: str | None = "2020-05-01", **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "unit_id": self.id,
            "title": f"高效催化剂-{uuid.uuid4().hex[:6]}",
            "kind": "patent",
            "ip_rights": (
                [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:8]}", "granted_on": granted_on}]
                if granted_on
                else []
            ),
            "completers": [{"person_id": "p-1", "name": "张三"}],
            "security": {"national_interest": False, "classified": False, "key_core_technology": False},
            "ethics_review_required": False,
        }
        body.update(overrides)
        response = await self.client.post("/api/v1/achievements", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()

    async def record(self, achievement_id: str, kind: str) -> dict[str, Any]:
        response = await self.client.post(
            f"/api/v1/achievements/{achievement_id}/compliance-records",
            json={"kind": kind, "reference": f"REF-{kind}", "recorded_on": "2030-01-05"},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def empower(self, achievement_id: str, **body: Any) -> Any:
        payload = {"type": "ownership", "team_share": "70.00", "unit_share": "30.00", "decision": DECISION, **body}
        return await self.client.post(f"/api/v1/achievements/{achievement_id}/empowerments", json=payload, headers=self.admin)

    async def usage_right(self, achievement_id: str, start_on: date, end_on: date, **body: Any) -> Any:
        return await self.client.post(
            f"/api/v1/achievements/{achievement_id}/empowerments",
            json={"type": "usage_right", "start_on": start_on.isoformat(), "end_on": end_on.isoformat(), "decision": DECISION, **body},
            headers=self.admin,
        )

    async def conclude(self, nats_url: str, achievement_id: str, kind: str = "license", **extra: Any) -> dict[str, Any]:
        """Announce a concluded deal as pricing would, and wait until ownership has recorded it."""
        data = {
            "transaction_id": uuid.uuid4().hex, "unit_id": self.id, "achievement_id": achievement_id, "kind": kind,
            "price": "50000.00", "counterparty": {"name": "沈阳某科技", "credit_code": "91210100X"},
            "basis": "notice_clear", **extra,
        }
        await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)

        async def transformed() -> dict[str, Any] | None:
            read = (await self.client.get(f"/api/v1/achievements/{achievement_id}", headers=self.admin)).json()
            return read if read["transformed"] else None

        return await eventually(transformed)

    async def separately_manage(self, achievement_id: str) -> Any:
        return await self.client.post(
            f"/api/v1/achievements/{achievement_id}/separate-management", json={"decision": DECISION}, headers=self.admin
        )


@pytest.fixture
async def unit(system: InProcessSystem) -> Unit:
    """A fresh unit per test."""
    return Unit(system, await system.register_unit())


@pytest.fixture
async def other_unit(system: InProcessSystem) -> Unit:
    """A second fresh unit, for cross-unit access tests."""
    return Unit(system, await system.register_unit())


@pytest.fixture
def outbox(system: InProcessSystem) -> Any:
    """`await outbox(type, subject=None)`: the events ownership wrote (published iff committed)."""

    async def read(event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
        return await _events(system, event_type, subject)

    return read


async def _events(system: InProcessSystem, event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
    runtime = system.runtime("ownership")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        envelopes = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == event_type))).scalars().all()
    found = [orjson.loads(envelope) for envelope in envelopes]
    return [e for e in found if subject is None or e["subject"] == subject]
