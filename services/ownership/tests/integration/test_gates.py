"""Security, export, secrecy and ethics gates (OWN-12 … OWN-15) on every grant, through HTTP.

A licence, pay-later or not, is a pricing transaction: pricing applies these gates when it opens (OWN-9)."""
from __future__ import annotations

from datetime import datetime

from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem

SECURE = {"national_interest": True, "classified": False, "key_core_technology": False}


async def test_own_12_national_interest_achievement_is_refused_empowerment_and_separate_management(
    system: InProcessSystem, unit, clock
) -> None:
    await clock(datetime(2030, 6, 1, 10, 0, tzinfo=SHANGHAI))
    a = await unit.achievement(granted_on="2020-01-01", security=SECURE)
    for response in (await unit.empower(a["id"]), await unit.separately_manage(a["id"])):
        assert response.status_code == 422, response.text
        assert response.json()["rule"] == "OWN-12"
    # Old enough and untransformed, yet never in the pool.
    read = await unit.client.get(f"/api/v1/achievements/{a['id']}", headers=unit.admin)
    assert read.json()["in_pool"] is False and read.json()["version"] == 1
    pool = await unit.client.get(f"/api/v1/units/{unit.id}/pool")
    assert a["id"] not in [item["achievement_id"] for item in pool.json()["items"]]
    plain = await unit.achievement(granted_on="2020-01-01")
    assert (await unit.empower(plain["id"])).status_code == 201


async def test_own_13_overseas_empowerment_needs_an_export_control_record(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    refused = await unit.empower(a["id"], overseas=True)
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-13"
    domestic = await unit.achievement()
    assert (await unit.empower(domestic["id"], overseas=False)).status_code == 201
    await unit.record(a["id"], "export_control")
    granted = await unit.empower(a["id"], overseas=True)
    assert granted.status_code == 201 and granted.json()["overseas"] is True


async def test_own_14_classified_or_key_core_needs_secrecy_approval_and_confidentiality_agreement(
    system: InProcessSystem, unit
) -> None:
    for flag in ("classified", "key_core_technology"):
        a = await unit.achievement(security={"national_interest": False, "classified": False, "key_core_technology": False, flag: True})
        assert (await unit.empower(a["id"])).json()["rule"] == "OWN-14"
        await unit.record(a["id"], "secrecy_approval")
        only_one = await unit.empower(a["id"])
        assert only_one.status_code == 422 and only_one.json()["rule"] == "OWN-14"
        await unit.record(a["id"], "confidentiality_agreement")
        assert (await unit.empower(a["id"])).status_code == 201


async def test_own_14_does_not_hold_back_separate_management(system: InProcessSystem, unit) -> None:
    a = await unit.achievement(security={"national_interest": False, "classified": True, "key_core_technology": False})
    assert (await unit.separately_manage(a["id"])).status_code == 200


async def test_own_15_ethics_review_record_comes_first(system: InProcessSystem, unit) -> None:
    a = await unit.achievement(ethics_review_required=True)
    refused = await unit.empower(a["id"])
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-15"
    await unit.record(a["id"], "ethics_review")
    assert (await unit.empower(a["id"])).status_code == 201
