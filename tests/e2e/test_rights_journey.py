"""Through the gateway: a pay-later licence priced like any agreement (OWN-9) lands in ownership's rights record
(OWN-16, PRC-11); anyone may object to a notice, anonymously with contact (PRC-5)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem
from tests.e2e.journeys import APPRAISAL, COUNTERPARTY, DECISION, EFFECT_TIMEOUT, Journey, ok

SME = {**COUNTERPARTY, "size": "small"}
PAY_LATER = {"mode": "pay_later", "due_on": "2035-06-30", "conditions": "首年销售收入达到500万元后支付"}
FEE = "260000.00"


async def _pay_later_licence(journey: Journey, achievement_id: str) -> dict:
    body = {"achievement_id": achievement_id, "kind": "license", "method": "agreement", "counterparty": SME,
            "proposed_price": FEE, "appraisal": APPRAISAL, "licence": {"scope": "exclusive"}, "payment": PAY_LATER}
    return ok(await journey.http.post("/api/v1/transactions", json=body, headers=journey.admin), 201)


async def test_empowered_separately_managed_achievement_licensed_pay_later_through_a_notice(running: RunningSystem) -> None:
    journey = await Journey.begin(running, datetime(2034, 3, 1, 1, 0, tzinfo=UTC))
    achievement = await journey.pooled_achievement()
    url = f"/api/v1/achievements/{achievement['id']}"
    ok(await journey.http.post(f"{url}/empowerments", headers=journey.admin, json={
        "type": "ownership", "team_share": "70.00", "unit_share": "30.00", "decision": DECISION}), 201)
    managed = ok(await journey.http.post(f"{url}/separate-management", json={"decision": DECISION}, headers=journey.admin), 200)
    assert managed["separately_managed"] is True

    deal = await _pay_later_licence(journey, achievement["id"])
    notice = await journey.notice(deal["id"])
    public = ok(await journey.http.get("/api/v1/notices", params={"active": "true", "unit_id": journey.unit_id}), 200)
    assert [(n["id"], n["price"]) for n in public["items"]] == [(notice["id"], FEE)]  # the fee, publicly, no token
    await journey.advance(timedelta(days=journey.unit["policy"]["notice_days"] + 1))
    await journey.in_state(deal["id"], "notice_clear")
    concluded = await journey.conclude(deal["id"])
    assert concluded["state"] == "concluded" and concluded["payment"] == PAY_LATER

    async def licensed() -> dict | None:
        rights = ok(await journey.http.get(f"{url}/rights", headers=journey.admin), 200)
        return rights if any(lic["transaction_id"] == deal["id"] for lic in rights["licences"]) else None

    rights = await eventually(licensed, timeout=EFFECT_TIMEOUT)
    licence = next(lic for lic in rights["licences"] if lic["transaction_id"] == deal["id"])
    assert licence["scope"] == "exclusive" and licence["pay_later"] is True
    assert rights["status"] == "partly_disposed" and deal["id"] not in rights["open_transaction_ids"]
    await journey.transformed(achievement["id"])  # out of the pool

    # The exclusive licence in force now refuses another licence (OWN-16), ownership's record and pricing's agree.
    refused = await journey.http.post("/api/v1/transactions", headers=journey.admin, json={
        "achievement_id": achievement["id"], "kind": "license", "method": "agreement", "counterparty": COUNTERPARTY,
        "proposed_price": FEE, "appraisal": APPRAISAL})
    assert refused.status_code == 409 and refused.json()["rule"] == "OWN-16"


async def test_anyone_objects_through_the_gateway_without_a_token_and_is_limited_per_address(running: RunningSystem) -> None:
    journey = await Journey.begin(running, datetime(2034, 9, 1, 1, 0, tzinfo=UTC))
    deal = await journey.agreement((await journey.pooled_achievement())["id"])
    notice = await journey.notice(deal["id"])
    url = f"/api/v1/notices/{notice['id']}/objections"
    missing = await journey.http.post(url, json={"reason": "价格偏低", "contact": {"name": "王五"}})
    assert missing.status_code == 422 and missing.json()["rule"] == "PRC-5"
    body = {"reason": "价格偏低", "contact": {"name": "王五", "email": "wang@example.cn"}}
    statuses = [(await journey.http.post(url, json=body)).status_code for _ in range(11)]
    assert statuses == [201] * 10 + [429]  # ten a minute from one address, then 429 (PRC-5)
    await journey.advance(timedelta(days=journey.unit["policy"]["notice_days"] + 1))
    await journey.in_state(deal["id"], "notice_objected")
