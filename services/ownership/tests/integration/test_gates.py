"""Security, export, secrecy and ethics gates (OWN-12 … OWN-15) on every grant, through HTTP."""
from __future__ import annotations

from datetime import datetime

from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem

LICENCE = {
    "licensee": {"name": "大连某智能装备有限公司", "credit_code": "91210200MA0001", "size": "small"},
    "fee": "80000.00",
    "payment_due_on": "2032-01-01",
    "payment_conditions": "产品上市销售后12个月内支付",
}
SECURE = {"national_interest": True, "classified": False, "key_core_technology": False}


async def licence(unit, achievement_id: str, **overrides):
    return await unit.client.post(
        f"/api/v1/achievements/{achievement_id}/pay-later-licences", json={**LICENCE, **overrides}, headers=unit.admin
    )


async def test_own_12_national_interest_achievement_is_refused_empowerment_separate_management_and_pay_later(
    system: InProcessSystem, unit, clock
) -> None:
    await clock(datetime(2030, 6, 1, 10, 0, tzinfo=SHANGHAI))
    a = await unit.achievement(granted_on="2020-01-01", security=SECURE)
    for response in (await unit.empower(a["id"]), await unit.separately_manage(a["id"]), await licence(unit, a["id"])):
        assert response.status_code == 422, response.text
        assert response.json()["rule"] == "OWN-12"
    # Old enough and untransformed, yet never in the pool.
    read = await unit.client.get(f"/api/v1/achievements/{a['id']}", headers=unit.admin)
    assert read.json()["in_pool"] is False and read.json()["version"] == 1
    pool = await unit.client.get(f"/api/v1/units/{unit.id}/pool")
    assert a["id"] not in [item["achievement_id"] for item in pool.json()["items"]]
    plain = await unit.achievement(granted_on="2020-01-01")
    assert (await unit.empower(plain["id"])).status_code == 201


async def test_own_13_overseas_empowerment_and_licence_need_an_export_control_record(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    refused = await unit.empower(a["id"], overseas=True)
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-13"
    refused = await licence(unit, a["id"], licensee={**LICENCE["licensee"], "overseas": True})
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-13"
    assert (await unit.empower(a["id"], overseas=False)).status_code == 201
    await unit.record(a["id"], "export_control")
    granted = await unit.empower(a["id"], overseas=True)
    assert granted.status_code == 201 and granted.json()["overseas"] is True
    assert (await licence(unit, a["id"], licensee={**LICENCE["licensee"], "overseas": True})).status_code == 201


async def test_own_14_classified_or_key_core_needs_secrecy_approval_and_confidentiality_agreement(
    system: InProcessSystem, unit
) -> None:
    for flag in ("classified", "key_core_technology"):
        a = await unit.achievement(security={"national_interest": False, "classified": False, "key_core_technology": False, flag: True})
        assert (await unit.empower(a["id"])).json()["rule"] == "OWN-14"
        await unit.record(a["id"], "secrecy_approval")
        only_one = await unit.empower(a["id"])
        assert only_one.status_code == 422 and only_one.json()["rule"] == "OWN-14"
        assert (await licence(unit, a["id"])).json()["rule"] == "OWN-14"
        await unit.record(a["id"], "confidentiality_agreement")
        assert (await unit.empower(a["id"])).status_code == 201
        assert (await licence(unit, a["id"])).status_code == 201


async def test_own_14_does_not_hold_back_separate_management(system: InProcessSystem, unit) -> None:
    a = await unit.achievement(security={"national_interest": False, "classified": True, "key_core_technology": False})
    assert (await unit.separately_manage(a["id"])).status_code == 200


async def test_own_15_ethics_review_record_comes_first(system: InProcessSystem, unit) -> None:
    a = await unit.achievement(ethics_review_required=True)
    refused = await unit.empower(a["id"])
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-15"
    assert (await licence(unit, a["id"])).json()["rule"] == "OWN-15"
    await unit.record(a["id"], "ethics_review")
    assert (await unit.empower(a["id"])).status_code == 201
    assert (await licence(unit, a["id"])).status_code == 201
