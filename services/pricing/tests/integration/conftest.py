"""Pricing integration fixtures.

`ownership`: a test double for the ONE HTTP peer whose endpoint does not exist on this branch yet,
ownership's `GET /api/v1/achievements/{id}` (contract item 1). It replaces only the pricing
runtime's client for ownership, serves achievements per the contract, forwards every other path
(units, policies) to the real in-process ownership service, and restores the real client after the
test. To switch to the real service, create achievements through ownership's API instead and drop
this fixture. NATS and the databases are always real.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import orjson
import pytest_asyncio
from sqlalchemy import select

from servicekit.testing import InProcessSystem


class OwnershipDouble:
    """Achievements as ownership would answer them (contract item 1); everything else goes to ownership."""

    def __init__(self, real: httpx.AsyncClient) -> None:
        self.real = real
        self.achievements: dict[str, dict[str, Any]] = {}

    def add(self, unit_id: str, **overrides: Any) -> dict[str, Any]:
        """Register an achievement of `unit_id`; `security`, `compliance` (list of kinds) … as keyword overrides."""
        compliance = overrides.pop("compliance", [])
        security = {"national_interest": False, "classified": False, "key_core_technology": False, **overrides.pop("security", {})}
        achievement = {
            "id": uuid.uuid4().hex,
            "unit_id": unit_id,
            "title": f"一种高效催化剂的制备方法-{uuid.uuid4().hex[:4]}",
            "kind": "patent",
            "status": "held",
            "transformed": False,
            "separately_managed": False,
            "in_pool": False,
            "ip_rights": [{"type": "invention_patent", "number": "ZL202010000001.X", "granted_on": "2020-05-01"}],
            "security": security,
            "ethics_review_required": False,
            "compliance_records": [
                {"id": uuid.uuid4().hex, "kind": kind, "reference": f"REF-{kind}", "recorded_on": date(2030, 1, 2).isoformat()}
                for kind in compliance
            ],
            "version": 1,
            **overrides,
        }
        self.achievements[achievement["id"]] = achievement
        return achievement

    def record_compliance(self, achievement_id: str, kind: str) -> None:
        achievement = self.achievements[achievement_id]
        achievement["compliance_records"].append(
            {"id": uuid.uuid4().hex, "kind": kind, "reference": f"REF-{kind}", "recorded_on": "2030-01-02"}
        )
        achievement["version"] += 1

    async def handle(self, request: httpx.Request) -> httpx.Response:
        prefix = "/api/v1/achievements/"
        if request.method == "GET" and request.url.path.startswith(prefix):
            achievement = self.achievements.get(request.url.path.removeprefix(prefix))
            if achievement is None:
                return httpx.Response(404, json={"status": 404, "title": "Not found", "detail": "no such resource"})
            return httpx.Response(200, json=achievement)
        forwarded = await self.real.request(
            request.method,
            request.url.path,
            params=request.url.params,
            content=request.content,
            headers={"Authorization": request.headers.get("authorization", "")},
        )
        return httpx.Response(forwarded.status_code, content=forwarded.content, headers={"content-type": forwarded.headers.get("content-type", "application/json")})


@pytest_asyncio.fixture
async def ownership(system: InProcessSystem) -> AsyncIterator[OwnershipDouble]:
    """Swap pricing's ownership client for the double for one test, then restore the real one."""
    runtime = system.runtime("pricing")
    real = runtime.peers["ownership"]
    double = OwnershipDouble(real)
    runtime.peers["ownership"] = httpx.AsyncClient(transport=httpx.MockTransport(double.handle), base_url="http://ownership")
    try:
        yield double
    finally:
        await runtime.peers["ownership"].aclose()
        runtime.peers["ownership"] = real


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


class Market:
    """Shortcuts for the steps every pricing test needs, through HTTP."""

    T = T
    STATE_OWNED = STATE_OWNED
    PRIVATE = PRIVATE
    APPRAISED = APPRAISED

    def __init__(self, system: InProcessSystem, ownership: OwnershipDouble) -> None:
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
        achievement = self.ownership.add(unit["id"])
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
async def market(system: InProcessSystem, ownership: OwnershipDouble) -> Market:
    return Market(system, ownership)
