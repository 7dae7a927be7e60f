"""Exemption readiness (EXE-13) of real pricing transactions, and its agreement with a case's assessment."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from servicekit.testing import InProcessSystem, eventually

from .cases import open_case

STATE_OWNED = {"name": "辽宁省国有资本投资公司", "credit_code": "91210000MA0TEST01X", "kind": "enterprise",
               "ownership": "wholly_state_owned", "overseas": False}


async def _achievement(system: InProcessSystem, unit_id: str) -> str:
    body = {"unit_id": unit_id, "title": f"一种催化剂-{uuid.uuid4().hex[:4]}", "kind": "patent",
            "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:10]}", "granted_on": "2020-05-01"}],
            "completers": [{"person_id": "p-1", "name": "张三"}],
            "security": {"national_interest": False, "classified": False, "key_core_technology": False},
            "ethics_review_required": False}
    response = await system.clients["ownership"].post("/api/v1/achievements", json=body, headers=system.auth("unit_admin", unit_id))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _empower(system: InProcessSystem, unit_id: str, achievement_id: str) -> None:
    body = {"type": "ownership", "team_share": "70.00", "unit_share": "30.00",
            "decision": {"body": "校长办公会", "date": "2031-01-05", "reference": "大工〔2031〕1号"}}
    response = await system.clients["ownership"].post(f"/api/v1/achievements/{achievement_id}/empowerments", json=body,
                                                      headers=system.auth("unit_admin", unit_id))
    assert response.status_code == 201, response.text


def clause(readiness: dict, name: str) -> dict:
    return next(c for c in readiness["clauses"] if c["clause"] == name)


async def test_readiness_follows_the_notice_until_the_deal_and_equals_the_assessment(system: InProcessSystem, clock) -> None:
    start = datetime(2031, 2, 1, 9, 0, tzinfo=UTC)
    await clock(start)
    unit = (await system.register_unit())["id"]
    admin = system.auth("unit_admin", unit)
    achievement = await _achievement(system, unit)
    await _empower(system, unit, achievement)
    pricing, exemption = system.clients["pricing"], system.clients["exemption"]
    created = await pricing.post("/api/v1/transactions", headers=admin, json={
        "achievement_id": achievement, "kind": "transfer", "method": "agreement", "counterparty": STATE_OWNED,
        "proposed_price": "800000.00"})
    assert created.status_code == 201, created.text
    tx = created.json()["id"]
    url = f"/api/v1/transactions/{tx}/exemption-readiness"
    draft = (await exemption.get(url, headers=admin)).json()
    assert (clause(draft, "G5.3")["status"], clause(draft, "G5.4")["status"]) == ("not_yet", "not_yet")
    assert "notice" in clause(draft, "G5.3")["missing"][0]
    published = await pricing.post(f"/api/v1/transactions/{tx}/notice", headers=admin)
    assert published.status_code == 201, published.text
    during = (await exemption.get(url, headers=admin)).json()
    assert clause(during, "G5.3")["status"] == "not_yet"
    assert "still running" in clause(during, "G5.3")["missing"][0]

    await clock(datetime.fromisoformat(published.json()["ends_at"]) + timedelta(seconds=1))
    assert (await pricing.get(f"/api/v1/transactions/{tx}", headers=admin)).json()["state"] == "notice_clear"
    clear = (await exemption.get(url, headers=admin)).json()
    assert clause(clear, "G5.3")["status"] == "not_yet"
    assert "conclusion" in clause(clear, "G5.3")["missing"][0]
    concluded = await pricing.post(f"/api/v1/transactions/{tx}/conclusion", headers=admin,
                                   json={"contract_reference": "HT-2031-1", "signed_on": "2031-02-17"})
    assert concluded.status_code == 200, concluded.text
    done = (await exemption.get(url, headers=admin)).json()
    assert (clause(done, "G5.3")["status"], clause(done, "G5.4")["status"]) == ("supported", "supported")
    assert done["transaction_id"] == tx

    case = await open_case(system, unit, clauses=["G5.3", "G5.4"], transaction_id=tx)
    assessment = (await case.client.get(case.url("/assessment"), headers=case.admin)).json()
    by_clause = {c["clause"]: c for c in assessment["clauses"]}
    for name in ("G5.3", "G5.4"):
        assert by_clause[name]["status"] == "supported"
        assert by_clause[name]["readiness"] == clause(done, name)["status"]

    other = system.auth("unit_admin", (await system.register_unit())["id"])
    assert (await exemption.get(url, headers=other)).status_code == 404
    assert (await exemption.get(url, headers=system.auth("researcher", unit))).status_code == 403
    assert (await exemption.get("/api/v1/transactions/no-such-tx/exemption-readiness", headers=admin)).status_code == 404


async def test_an_objected_notice_needs_a_listing_and_the_assessment_says_the_same(system: InProcessSystem, clock) -> None:
    start = datetime(2031, 4, 1, 9, 0, tzinfo=UTC)
    await clock(start)
    unit = (await system.register_unit())["id"]
    admin = system.auth("unit_admin", unit)
    achievement = await _achievement(system, unit)
    pricing, exemption = system.clients["pricing"], system.clients["exemption"]
    licence = await pricing.post("/api/v1/transactions", headers=admin, json={
        "achievement_id": achievement, "kind": "license", "method": "agreement", "counterparty": STATE_OWNED,
        "proposed_price": "50000.00"})
    tx = licence.json()["id"]
    notice = (await pricing.post(f"/api/v1/transactions/{tx}/notice", headers=admin)).json()
    objection = await pricing.post(f"/api/v1/notices/{notice['id']}/objections", headers=system.auth("enterprise"),
                                   json={"reason": "价格过低"})
    assert objection.status_code == 201, objection.text
    await clock(datetime.fromisoformat(notice["ends_at"]) + timedelta(seconds=1))
    assert (await pricing.get(f"/api/v1/transactions/{tx}", headers=admin)).json()["state"] == "notice_objected"
    url = f"/api/v1/transactions/{tx}/exemption-readiness"
    objected = (await exemption.get(url, headers=admin)).json()
    g53 = clause(objected, "G5.3")
    assert g53["status"] == "not_yet" and "listing" in g53["missing"][0]
    assert clause(objected, "G5.4")["status"] == "not_applicable"  # a licence, not a transfer
    case = await open_case(system, unit, clauses=["G5.3"], transaction_id=tx)

    async def assessed() -> dict | None:
        result = (await case.client.get(case.url("/assessment"), headers=case.admin)).json()
        return result["clauses"][0] if result["clauses"][0].get("readiness") else None

    g53_case = await eventually(assessed)
    assert (g53_case["status"], g53_case["readiness"], g53_case["missing"]) == ("not_supported", "not_yet", g53["missing"])
