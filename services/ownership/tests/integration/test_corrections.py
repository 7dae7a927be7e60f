"""Corrections and their traces (OWN-17): PATCH with a reason, pool exclusions and compliance records as events,
gates on the facts as they stand; department and field; the unit's min_meeting_attendees (EXE-5)."""
from __future__ import annotations

from servicekit.testing import InProcessSystem


async def test_achievement_registered_carries_department_field_and_facts(system: InProcessSystem, unit, outbox) -> None:
    a = await unit.achievement(department="化工学院", field="新材料")
    assert (a["department"], a["field"]) == ("化工学院", "新材料")
    [event] = await outbox("ownership.achievement.registered", a["id"])
    data = event["data"]
    assert (data["department"], data["field"]) == ("化工学院", "新材料")
    assert data["completers"] == [{"person_id": "p-1", "name": "张三"}] and data["ip_rights"] == a["ip_rights"]
    assert data["security"] == {"national_interest": False, "classified": False, "key_core_technology": False}


async def test_own_17_correction_with_a_reason_is_200_and_emits_its_event(system: InProcessSystem, unit, outbox) -> None:
    a = await unit.achievement(department="化工学院")
    path = f"/api/v1/achievements/{a['id']}"
    without_reason = await unit.client.patch(path, json={"department": "材料学院"}, headers=unit.admin)
    assert without_reason.status_code == 422 and without_reason.json()["rule"] == "OWN-17"
    blank_reason = await unit.client.patch(path, json={"department": "材料学院", "reason": "  "}, headers=unit.admin)
    assert blank_reason.status_code == 422 and blank_reason.json()["rule"] == "OWN-17"
    assert await outbox("ownership.achievement.corrected", a["id"]) == []
    ip_rights = [{"type": "utility_model", "number": "ZL2020-1", "granted_on": "2021-01-01"}]
    response = await unit.client.patch(
        path, json={"department": "材料学院", "ip_rights": ip_rights, "reason": "专利号录入错误"}, headers=unit.admin
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["department"] == "材料学院" and body["ip_rights"] == ip_rights and body["version"] == 2
    [event] = await outbox("ownership.achievement.corrected", a["id"])
    data = event["data"]
    assert data["reason"] == "专利号录入错误" and data["changed"] == ["ip_rights", "department"]
    assert data["department"] == "材料学院" and data["ip_rights"] == ip_rights and data["version"] == 2
    researcher = await unit.client.patch(path, json={"field": "x", "reason": "y"}, headers=unit.researcher)
    assert researcher.status_code == 403


async def test_own_17_gate_applies_to_the_security_flag_as_corrected(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    corrected = await unit.client.patch(
        f"/api/v1/achievements/{a['id']}",
        json={"security": {"national_interest": True}, "reason": "经保密审查认定涉及国家安全"},
        headers=unit.admin,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["in_pool"] is False
    refused = await unit.empower(a["id"])
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-12"
    cleared = await unit.client.patch(
        f"/api/v1/achievements/{a['id']}", json={"security": {"national_interest": False}, "reason": "复核撤销"},
        headers=unit.admin,
    )
    assert cleared.status_code == 200
    assert (await unit.empower(a["id"])).status_code == 201


async def test_own_17_pool_exclusion_and_its_removal_are_events(system: InProcessSystem, unit, outbox) -> None:
    a = await unit.achievement()
    path = f"/api/v1/achievements/{a['id']}/pool-exclusion"
    assert (await unit.client.put(path, json={"reason": "拟自行实施"}, headers=unit.admin)).status_code == 200
    assert (await unit.client.delete(path, headers=unit.admin)).status_code == 200
    events = [e["data"] for e in await outbox("ownership.pool.exclusion_changed", a["id"])]
    assert sorted((e["excluded"], e["reason"]) for e in events) == [(False, None), (True, "拟自行实施")]


async def test_own_17_a_compliance_record_is_an_event(system: InProcessSystem, unit, outbox) -> None:
    a = await unit.achievement()
    record = await unit.record(a["id"], "ethics_review")
    [event] = await outbox("ownership.compliance.recorded", a["id"])
    assert event["data"]["record_id"] == record["id"] and event["data"]["kind"] == "ethics_review"


async def test_exe_5_min_meeting_attendees_defaults_to_3_and_below_2_is_refused(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    assert unit["policy"]["min_meeting_attendees"] == 3
    client, admin = system.clients["ownership"], system.auth("unit_admin", unit["id"])
    refused = await client.patch(f"/api/v1/units/{unit['id']}/policy", json={"min_meeting_attendees": 1}, headers=admin)
    assert refused.status_code == 422 and refused.json()["rule"] == "EXE-5"
    changed = await client.patch(f"/api/v1/units/{unit['id']}/policy", json={"min_meeting_attendees": 2}, headers=admin)
    assert changed.status_code == 200 and changed.json()["policy"]["min_meeting_attendees"] == 2
    body = {"name": "东北大学-x", "type": "university", "policy": {"min_meeting_attendees": 1}}
    response = await client.post("/api/v1/units", json=body, headers=system.auth("platform_admin"))
    assert response.status_code == 422 and response.json()["rule"] == "EXE-5"
