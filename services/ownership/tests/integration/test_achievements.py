"""Achievements: registration, reads, lists, compliance records and who may do what (API.md §2, §3)."""
from __future__ import annotations

from datetime import datetime

from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem


async def test_registered_achievement_is_held_with_its_flags_and_event(system: InProcessSystem, unit, outbox) -> None:
    created = await unit.achievement(security={"national_interest": False, "classified": True, "key_core_technology": False})
    assert created["status"] == "held"
    assert created["transformed"] is False and created["separately_managed"] is False
    assert created["security"]["classified"] is True
    assert created["compliance_records"] == [] and created["version"] == 1
    # The completers are the team — researchers in the sense of SCO-2 — and are kept as given.
    assert created["completers"] == [{"person_id": "p-1", "name": "张三"}]
    no_team = await unit.client.post(
        "/api/v1/achievements",
        json={"unit_id": unit.id, "title": "x", "kind": "patent", "completers": []},
        headers=unit.admin,
    )
    assert no_team.status_code == 422
    [event] = await outbox("ownership.achievement.registered", created["id"])
    assert event["data"]["unit_id"] == unit.id and event["data"]["title"] == created["title"]


async def test_registering_for_a_unit_that_does_not_exist_is_404_and_writes_nothing(system: InProcessSystem, outbox) -> None:
    client = system.clients["ownership"]
    body = {"unit_id": "never-registered", "title": "无主成果", "kind": "patent",
            "completers": [{"person_id": "p-1", "name": "张三"}]}
    response = await client.post("/api/v1/achievements", json=body, headers=system.auth("unit_admin", "never-registered"))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e for e in await outbox("ownership.achievement.registered") if e["data"]["unit_id"] == "never-registered"] == []


async def test_unit_staff_department_platform_admin_and_services_read_an_achievement(system: InProcessSystem, unit) -> None:
    created = await unit.achievement()
    service_headers = {"Authorization": f"Bearer {system.runtime('pricing').service_token()}"}
    for headers in (unit.admin, unit.researcher, system.auth("department"), system.auth("platform_admin"), service_headers):
        response = await unit.client.get(f"/api/v1/achievements/{created['id']}", headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["etag"] == '"1"'
    body = response.json()
    assert {"ip_rights", "security", "ethics_review_required", "compliance_records", "in_pool", "version"} <= body.keys()
    response = await unit.client.get(f"/api/v1/achievements/{created['id']}", headers=system.auth("enterprise"))
    assert response.status_code == 403
    assert (await unit.client.get(f"/api/v1/achievements/{created['id']}")).status_code == 401


async def test_compliance_record_is_listed_on_the_achievement(system: InProcessSystem, unit) -> None:
    created = await unit.achievement()
    record = await unit.record(created["id"], "export_control")
    response = await unit.client.get(f"/api/v1/achievements/{created['id']}", headers=unit.researcher)
    assert response.json()["compliance_records"] == [
        {"id": record["id"], "achievement_id": created["id"], "kind": "export_control", "reference": "REF-export_control", "recorded_on": "2030-01-05"}
    ]
    bad = await unit.client.post(
        f"/api/v1/achievements/{created['id']}/compliance-records",
        json={"kind": "approval_by_ministry", "reference": "x", "recorded_on": "2030-01-01"},
        headers=unit.admin,
    )
    assert bad.status_code == 422


async def test_another_units_staff_get_404_on_every_achievement_endpoint(system: InProcessSystem, unit, other_unit) -> None:
    created = await unit.achievement()
    empowerment = (await unit.empower(created["id"])).json()
    a, e = created["id"], empowerment["id"]
    version = (await unit.client.get(f"/api/v1/achievements/{a}", headers=unit.admin)).json()["version"]
    decision = unit.decision
    requests = [
        ("GET", f"/api/v1/achievements/{a}", None),
        ("GET", f"/api/v1/achievements/{a}/empowerments", None),
        ("GET", f"/api/v1/empowerments/{e}", None),
        ("GET", f"/api/v1/achievements?unit_id={unit.id}", None),
        ("POST", f"/api/v1/achievements/{a}/compliance-records", {"kind": "ethics_review", "reference": "r", "recorded_on": "2030-01-01"}),
        ("POST", f"/api/v1/achievements/{a}/separate-management", {"decision": decision}),
        ("PUT", f"/api/v1/achievements/{a}/pool-exclusion", {"reason": "意向洽谈中"}),
        ("DELETE", f"/api/v1/achievements/{a}/pool-exclusion", None),
        ("POST", f"/api/v1/achievements/{a}/empowerments", {"type": "ownership", "team_share": "50.00", "unit_share": "50.00", "decision": decision}),
        ("POST", f"/api/v1/empowerments/{e}/patent-change", {"registered_on": "2030-02-01", "reference": "CN-1"}),
        ("POST", f"/api/v1/empowerments/{e}/extension", {"new_end_on": "2050-01-01", "decision": decision}),
        ("POST", f"/api/v1/empowerments/{e}/conversion", {"team_share": "50.00", "unit_share": "50.00"}),
        ("POST", f"/api/v1/achievements/{a}/equity-transfers", {"mode": "resource_fee", "fee": "1000.00", "decision": decision}),
        ("PATCH", f"/api/v1/achievements/{a}", {"field": "新材料", "reason": "录入错误"}),
        ("GET", f"/api/v1/achievements/{a}/rights", None),
        ("GET", f"/api/v1/units/{unit.id}/separate-ledger", None),
        ("POST", f"/api/v1/units/{unit.id}/pool/publications", None),
    ]
    for caller in (other_unit.admin, other_unit.researcher):
        for method, path, body in requests:
            response = await unit.client.request(method, path, json=body, headers=caller)
            assert response.status_code == 404, (method, path, response.status_code, response.text)
    after = await unit.client.get(f"/api/v1/achievements/{a}", headers=unit.admin)
    assert after.json()["version"] == version


async def test_a_researcher_cannot_write(system: InProcessSystem, unit) -> None:
    created = await unit.achievement()
    empowerment = (await unit.empower(created["id"])).json()
    a, e = created["id"], empowerment["id"]
    decision = unit.decision
    writes = [
        ("POST", "/api/v1/achievements", {**{k: created[k] for k in ("unit_id", "title", "kind", "completers")}}),
        ("POST", f"/api/v1/achievements/{a}/compliance-records", {"kind": "ethics_review", "reference": "r", "recorded_on": "2030-01-01"}),
        ("POST", f"/api/v1/achievements/{a}/separate-management", {"decision": decision}),
        ("PUT", f"/api/v1/achievements/{a}/pool-exclusion", {"reason": "意向洽谈中"}),
        ("DELETE", f"/api/v1/achievements/{a}/pool-exclusion", None),
        ("POST", f"/api/v1/achievements/{a}/empowerments", {"type": "ownership", "team_share": "50.00", "unit_share": "50.00", "decision": decision}),
        ("POST", f"/api/v1/empowerments/{e}/patent-change", {"registered_on": "2030-02-01", "reference": "CN-1"}),
        ("POST", f"/api/v1/empowerments/{e}/extension", {"new_end_on": "2050-01-01", "decision": decision}),
        ("POST", f"/api/v1/achievements/{a}/equity-transfers", {"mode": "resource_fee", "fee": "1000.00", "decision": decision}),
        ("PATCH", f"/api/v1/achievements/{a}", {"field": "新材料", "reason": "录入错误"}),
        ("POST", f"/api/v1/units/{unit.id}/pool/publications", None),
    ]
    for headers in (unit.researcher, system.auth("department"), system.auth("platform_admin")):
        for method, path, body in writes:
            response = await unit.client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (method, path, response.status_code, response.text)


async def test_body_naming_another_unit_is_404(system: InProcessSystem, unit, other_unit) -> None:
    body = {"unit_id": other_unit.id, "title": "x", "kind": "patent", "completers": [{"person_id": "p", "name": "n"}]}
    response = await unit.client.post("/api/v1/achievements", json=body, headers=unit.admin)
    assert response.status_code == 404
    response = await unit.client.post("/api/v1/achievements", json={**body, "unit_id": "no-such-unit"}, headers=unit.admin)
    assert response.status_code == 404


async def test_list_filters_by_unit_pool_and_transformed_with_cursor_pages(system: InProcessSystem, unit, other_unit, clock, nats_url) -> None:
    await clock(datetime(2030, 6, 1, 10, 0, tzinfo=SHANGHAI))
    old = [await unit.achievement(granted_on="2025-01-01") for _ in range(3)]
    recent = await unit.achievement(granted_on="2029-01-01")
    await other_unit.achievement(granted_on="2025-01-01")
    licensed = old[2]
    await unit.conclude(nats_url, licensed["id"])

    async def ids(query: str, headers) -> list[str]:
        seen, cursor = [], None
        while True:
            url = f"/api/v1/achievements?{query}&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = await unit.client.get(url, headers=headers)
            assert page.status_code == 200, page.text
            seen += [item["id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return seen

    everything = sorted(a["id"] for a in [*old, recent])
    assert await ids(f"unit_id={unit.id}", system.auth("department")) == everything
    assert await ids("", unit.researcher) == everything  # unit staff see their own unit only
    assert await ids("in_pool=true", unit.admin) == sorted([old[0]["id"], old[1]["id"]])
    assert await ids("in_pool=false", unit.admin) == sorted([recent["id"], licensed["id"]])
    assert await ids("transformed=true", unit.admin) == [licensed["id"]]
    assert (await unit.client.get("/api/v1/achievements?limit=0", headers=unit.admin)).status_code == 422
    assert (await unit.client.get("/api/v1/achievements?cursor=%%%", headers=unit.admin)).status_code == 422
    assert (await unit.client.get("/api/v1/achievements", headers=system.auth("enterprise"))).status_code == 403


async def test_money_as_json_number_and_unknown_fields_are_422(system: InProcessSystem, unit) -> None:
    created = await unit.achievement()
    response = await unit.empower(created["id"], team_share=70, unit_share=30)
    assert response.status_code == 422
    response = await unit.client.post(
        "/api/v1/achievements",
        json={"unit_id": unit.id, "title": "x", "kind": "patent", "completers": [{"person_id": "p", "name": "n"}], "colour": "red"},
        headers=unit.admin,
    )
    assert response.status_code == 422


async def test_extreme_and_malformed_inputs_never_give_a_5xx(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    base = f"/api/v1/achievements/{a['id']}"
    cases = [
        ("POST", f"{base}/empowerments", {"type": "usage_right", "start_on": "9995-01-01", "end_on": "9999-12-31", "decision": unit.decision}),
        ("POST", f"{base}/empowerments", {"type": "ownership", "team_share": "999999999999999.99", "unit_share": "0.00", "decision": unit.decision}),
        ("POST", f"{base}/empowerments", {"type": "ownership", "team_share": "1e3", "unit_share": "0.00", "decision": unit.decision}),
        ("POST", f"{base}/empowerments", {"type": "gift"}),
        ("POST", f"{base}/empowerments", []),
        ("PATCH", base, {"ip_rights": [{"type": "invention_patent", "number": "x", "granted_on": "2030-02-30"}], "reason": "r"}),
        ("PATCH", base, {"completers": [], "reason": "r"}),
        ("PATCH", base, {"security": None, "reason": "r"}),
        ("POST", f"{base}/equity-transfers", {"mode": "agreed_return", "fee": "-5.00", "enterprise": {"name": "e", "credit_code": "c"}, "decision": unit.decision}),
        ("PUT", f"{base}/pool-exclusion", {"reason": 5}),
        ("GET", f"/api/v1/achievements/{'x' * 5000}", None),
        ("GET", "/api/v1/achievements?in_pool=maybe", None),
        ("GET", f"/api/v1/units/{unit.id}/pool/publications/99999999999999999999", None),
        ("POST", "/api/v1/achievements", {"unit_id": unit.id, "title": "t" * 501, "kind": "patent", "completers": [{"person_id": "p", "name": "n"}]}),
    ]
    for method, path, body in cases:
        response = await unit.client.request(method, path, json=body, headers=unit.admin)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
