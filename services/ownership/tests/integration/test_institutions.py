"""Institutions and their annual evaluations (ORG-1); technology managers and the deals naming them (ORG-2)."""
from __future__ import annotations

import uuid
from typing import Any

from servicekit.testing import InProcessSystem, eventually, publish_event


async def institution(system: InProcessSystem, **body: Any) -> Any:
    payload = {"kind": "science_park", "name": f"大连理工大学科技园-{uuid.uuid4().hex[:6]}", **body}
    return await system.clients["ownership"].post("/api/v1/institutions", json=payload, headers=system.auth("platform_admin"))


async def test_org_1_a_science_park_serves_several_units_and_is_public(system: InProcessSystem, unit, other_unit) -> None:
    response = await institution(system, unit_ids=[unit.id, other_unit.id])
    assert response.status_code == 201, response.text
    park = response.json()
    assert park["unit_ids"] == [unit.id, other_unit.id] and park["evaluations"] == []
    client = system.clients["ownership"]
    assert (await client.get(f"/api/v1/institutions/{park['id']}")).json()["name"] == park["name"]
    listed = (await client.get("/api/v1/institutions", params={"unit_id": other_unit.id, "kind": "science_park"})).json()
    assert [i["id"] for i in listed["items"]] == [park["id"]] and listed["next_cursor"] is None


async def test_org_1_an_incubator_needs_its_level_and_a_transfer_office_one_unit(system: InProcessSystem, unit, other_unit) -> None:
    no_level = await institution(system, kind="incubator", unit_ids=[])
    assert no_level.status_code == 422 and no_level.json()["rule"] == "ORG-1"
    assert (await institution(system, kind="incubator", level="provincial")).status_code == 201
    two_units = await institution(system, kind="transfer_office", unit_ids=[unit.id, other_unit.id])
    assert two_units.status_code == 422 and two_units.json()["rule"] == "ORG-1"


async def test_org_1_a_unit_admin_registers_only_its_own_transfer_office(system: InProcessSystem, unit, other_unit) -> None:
    client = system.clients["ownership"]
    own = {"kind": "transfer_office", "name": "技术转移中心", "unit_ids": [unit.id]}
    assert (await client.post("/api/v1/institutions", json=own, headers=unit.admin)).status_code == 201
    other = {**own, "unit_ids": [other_unit.id]}
    assert (await client.post("/api/v1/institutions", json=other, headers=unit.admin)).status_code == 404
    park = {"kind": "science_park", "name": "科技园", "unit_ids": [unit.id]}
    assert (await client.post("/api/v1/institutions", json=park, headers=unit.admin)).status_code == 403


async def test_org_1_a_second_evaluation_for_the_same_year_is_409(system: InProcessSystem, unit, outbox) -> None:
    park = (await institution(system, unit_ids=[unit.id])).json()
    path = f"/api/v1/institutions/{park['id']}/evaluations"
    client, admin = system.clients["ownership"], system.auth("platform_admin")
    first = await client.post(path, json={"year": 2030, "rating": "excellent", "evaluated_by": "辽宁省科学技术厅"}, headers=admin)
    assert first.status_code == 201, first.text
    second = await client.post(path, json={"year": 2030, "rating": "good", "evaluated_by": "辽宁省科学技术厅"}, headers=admin)
    assert second.status_code == 409 and second.json()["rule"] == "ORG-1"
    next_year = await client.post(path, json={"year": 2031, "rating": "good", "evaluated_by": "辽宁省科学技术厅"}, headers=admin)
    assert next_year.status_code == 201
    [event] = [e for e in await outbox("ownership.institution.evaluated", park["id"]) if e["data"]["year"] == 2030]
    assert (event["data"]["rating"], event["data"]["kind"], event["data"]["unit_ids"]) == ("excellent", "science_park", [unit.id])
    years = [e["year"] for e in (await client.get(f"/api/v1/institutions/{park['id']}")).json()["evaluations"]]
    assert years == [2030, 2031]
    assert (await client.post(path, json={"year": 2032, "rating": "pass", "evaluated_by": "x"}, headers=unit.admin)).status_code == 403


async def test_org_2_technology_manager_counts_the_deals_naming_them(system: InProcessSystem, unit, other_unit, nats_url, outbox) -> None:
    client = system.clients["ownership"]
    body = {"person_id": "tm-1", "name": "赵六", "certificate": {"number": "JSJL-2030-001", "level": "高级"}, "unit_id": unit.id}
    response = await client.post("/api/v1/technology-managers", json=body, headers=unit.admin)
    assert response.status_code == 201, response.text
    manager = response.json()
    assert manager["deals"] == {"count": 0, "amount": "0.00"}
    assert len(await outbox("ownership.technology_manager.registered", manager["id"])) == 1
    for price in ("100000.00", "250000.50"):
        tx = uuid.uuid4().hex
        await publish_event(nats_url, "pricing.deal.concluded", tx, {
            "transaction_id": tx, "unit_id": unit.id, "achievement_id": uuid.uuid4().hex, "kind": "transfer",
            "price": price, "counterparty": {"name": "x", "credit_code": "y"}, "basis": "notice_clear",
            "technology_manager_ids": [manager["id"]],
        })

    async def counted() -> dict[str, Any] | None:
        deals = (await client.get(f"/api/v1/technology-managers/{manager['id']}", headers=unit.admin)).json()["deals"]
        return deals if deals["count"] == 2 else None

    assert await eventually(counted) == {"count": 2, "amount": "350000.50"}
    path = f"/api/v1/technology-managers/{manager['id']}"
    assert (await client.get(path, headers=system.auth("researcher", unit.id, sub="tm-1"))).status_code == 200
    assert (await client.get(path, headers=system.auth("service"))).status_code == 200
    assert (await client.get(path, headers=other_unit.admin)).status_code == 404
    assert (await client.get(path, headers=system.auth("enterprise"))).status_code == 403
    assert (await client.get("/api/v1/technology-managers/unknown", headers=system.auth("service"))).status_code == 404


async def test_org_2_a_technology_manager_needs_a_unit_or_institution(system: InProcessSystem, unit, other_unit) -> None:
    client = system.clients["ownership"]
    body = {"person_id": "tm-2", "name": "钱七", "certificate": {"number": "JSJL-2030-002", "level": "中级"}}
    refused = await client.post("/api/v1/technology-managers", json=body, headers=system.auth("platform_admin"))
    assert refused.status_code == 422 and refused.json()["rule"] == "ORG-2"
    other = await client.post("/api/v1/technology-managers", json={**body, "unit_id": other_unit.id}, headers=unit.admin)
    assert other.status_code == 404
    park = (await institution(system, unit_ids=[unit.id])).json()
    by_institution = await client.post("/api/v1/technology-managers", json={**body, "institution_id": park["id"]}, headers=unit.admin)
    assert by_institution.status_code == 201, by_institution.text
