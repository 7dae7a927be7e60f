"""Pricing integration fixtures.

`ownership`: achievements registered through the REAL in-process ownership service (its HTTP API),
which pricing then reads over its real peer client, exactly as in production. NATS and the databases
are always real; no HTTP peer is faked.
"""
from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest_asyncio
from sqlalchemy import select

from servicekit.testing import InProcessSystem


class Ownership:
    """Registers achievements and compliance records with the ownership service, as a unit admin would."""

    def __init__(self, system: InProcessSystem) -> None:
        self.system = system
        self.client = system.clients["ownership"]

    async def add(self, unit_id: str, **overrides: Any) -> dict[str, Any]:
        """Register an achievement of `unit_id`; `security`, `compliance` (list of kinds) … as keyword overrides."""
        compliance = overrides.pop("compliance", [])
        security = {"national_interest": False, "classified": False, "key_core_technology": False, **overrides.pop("security", {})}
        body = {
            "unit_id": unit_id,
            "title": f"一种高效催化剂的制备方法-{uuid.uuid4().hex[:4]}",
            "kind": "patent",
            "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:10]}", "granted_on": "2020-05-01"}],
            "completers": [{"person_id": "p-1", "name": "张三"}],
            "security": security,
            "ethics_review_required": False,
            **overrides,
        }
        response = await self.client.post("/api/v1/achievements", json=body, headers=self.system.auth("unit_admin", unit_id))
        assert response.status_code == 201, response.text
        achievement = response.json()
        for kind in compliance:
            await self.record_compliance(achievement["id"], kind, unit_id)
        return achievement

    async def record_compliance(self, achievement_id: str, kind: str, unit_id: str | None = None) -> None:
        """Record a compliance record (OWN-13/14/15) for the achievement."""
        if unit_id is None:
            read = await self.client.get(f"/api/v1/achievements/{achievement_id}", headers=self.system.auth("platform_admin"))
            assert read.status_code == 200, read.text
            unit_id = read.json()["unit_id"]
        response = await self.client.post(
            f"/api/v1/achievements/{achievement_id}/compliance-records",
            json={"kind": kind, "reference": f"REF-{kind}", "recorded_on": "2030-01-02"},
            headers=self.system.auth("unit_admin", unit_id),
        )
        assert response.status_code == 201, response.text


    async def technology_manager(self, unit_id: str) -> dict[str, Any]:
        """Register a technology manager of `unit_id` (ORG-2) with ownership."""
        body = {"person_id": f"tm-{uuid.uuid4().hex[:6]}", "name": "李技术经理",
                "certificate": {"number": f"JSJL-{uuid.uuid4().hex[:6]}", "level": "senior"}, "unit_id": unit_id}
        response = await self.client.post("/api/v1/technology-managers", json=body, headers=self.system.auth("platform_admin"))
        assert response.status_code == 201, response.text
        return response.json()

    async def rights(self, achievement_id: str) -> dict[str, Any]:
        """The rights record as ownership shows it now (OWN-16)."""
        response = await self.client.get(f"/api/v1/achievements/{achievement_id}/rights", headers=self.system.auth("platform_admin"))
        assert response.status_code == 200, response.text
        return response.json()


@pytest_asyncio.fixture
async def ownership(system: InProcessSystem) -> Ownership:
    """Achievements through the real ownership service."""
    return Ownership(system)


async def pricing_events(system: InProcessSystem, event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
    """Envelopes pricing wrote to its outbox (published iff committed), oldest first."""
    runtime = system.runtime("pricing")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.seq))).scalars().all()
    envelopes = [orjson.loads(row) for row in rows]
    return [e for e in envelopes if subject is None or e["subject"] == subject]


@pytest_asyncio.fixture
async def events(system: InProcessSystem):
    """`await events(type, subject=None)`: pricing's outbox envelopes of that type."""

    async def read(event_type: str, subject: str | None = None) -> list[dict[str, Any]]:
        return await pricing_events(system, event_type, subject)

    return read


T = "/api/v1/transactions"
STATE_OWNED = {"name": "辽宁省国有资本投资公司", "credit_code": "91210000MA0000001X", "kind": "enterprise",
               "ownership": "wholly_state_owned", "overseas": False}
PRIVATE = {"name": "沈阳新材料科技有限公司", "credit_code": "91210100MA0000002Y", "kind": "enterprise",
           "ownership": "other", "overseas": False}
APPRAISED = {"performed": True, "value": "480000.00", "report_reference": "辽评报字〔2030〕001号"}
SMALL = {**PRIVATE, "size": "small"}


class Market:
    """Shortcuts for the steps every pricing test needs, through HTTP."""

    T = T
    STATE_OWNED = STATE_OWNED
    PRIVATE = PRIVATE
    APPRAISED = APPRAISED
    SMALL = SMALL

    def __init__(self, system: InProcessSystem, ownership: Ownership) -> None:
        self.system = system
        self.ownership = ownership
        self.client = system.clients["pricing"]

    async def unit(self, **overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
        unit = await self.system.register_unit(**overrides)
        return unit, self.system.auth("unit_admin", unit["id"], sub=f"admin-{uuid.uuid4().hex[:6]}")

    async def open(self, headers: dict[str, str], achievement_id: str, **body: Any) -> httpx.Response:
        payload = {"achievement_id": achievement_id, "kind": "transfer", "method": "agreement", **body}
        return await self.client.post(T, json=payload, headers=headers)

    async def agreement(self, **unit_overrides: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """A fresh unit and an agreement transaction with a private counterparty at 500000.00."""
        unit, admin = await self.unit(**unit_overrides)
        achievement = await self.ownership.add(unit["id"])
        response = await self.open(admin, achievement["id"], counterparty=PRIVATE, proposed_price="500000.00", appraisal=APPRAISED)
        assert response.status_code == 201, response.text
        return response.json(), admin

    async def notice(self, tx: dict[str, Any], admin: dict[str, str]) -> dict[str, Any]:
        response = await self.client.post(f"{T}/{tx['id']}/notice", json={}, headers=admin)
        assert response.status_code == 201, response.text
        return response.json()

    async def object(self, notice_id: str) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/notices/{notice_id}/objections", json={"reason": "价格偏低"}, headers=self.system.auth("researcher", "x")
        )

    async def get(self, tx_id: str, admin: dict[str, str]) -> dict[str, Any]:
        response = await self.client.get(f"{T}/{tx_id}", headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def record(self, tx_id: str, admin: dict[str, str]) -> list[dict[str, Any]]:
        response = await self.client.get(f"{T}/{tx_id}/record", headers=admin)
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest_asyncio.fixture
async def market(system: InProcessSystem, ownership: Ownership) -> Market:
    return Market(system, ownership)
