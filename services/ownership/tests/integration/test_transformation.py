"""Separate management and ledger (OWN-7, OWN-8), equity transfer (OWN-11),
and the consumed events (pricing.deal.concluded, finance.horizontal_investment.recorded)."""
from __future__ import annotations

import uuid

from servicekit.testing import InProcessSystem, eventually, publish_event


async def test_own_7_separate_management_on_the_units_decision_enters_the_ledger(system: InProcessSystem, unit, outbox) -> None:
    a = await unit.achievement()
    no_decision = await unit.client.post(
        f"/api/v1/achievements/{a['id']}/separate-management", json={}, headers=unit.admin
    )
    assert no_decision.status_code == 422 and no_decision.json()["rule"] == "OWN-7"
    response = await unit.separately_manage(a["id"])
    assert response.status_code == 200, response.text
    assert response.json()["separately_managed"] is True and response.json()["version"] == 2
    again = await unit.separately_manage(a["id"])
    assert again.status_code == 409 and again.json()["rule"] == "OWN-7"
    ledger = await unit.client.get(f"/api/v1/units/{unit.id}/separate-ledger", headers=unit.admin)
    assert ledger.status_code == 200
    [item] = ledger.json()["items"]
    assert item["kind"] == "achievement" and item["achievement_id"] == a["id"] and item["decision"] == unit.decision
    assert len(await outbox("ownership.achievement.separately_managed", a["id"])) == 1
    for headers in (system.auth("department"), system.auth("platform_admin")):
        assert (await unit.client.get(f"/api/v1/units/{unit.id}/separate-ledger", headers=headers)).status_code == 200
    assert (await unit.client.get(f"/api/v1/units/{unit.id}/separate-ledger", headers=unit.researcher)).status_code == 403


async def test_own_7_horizontal_investment_becomes_state_equity_in_the_ledger_once(system: InProcessSystem, unit, nats_url) -> None:
    investment_id = uuid.uuid4().hex
    data = {
        "investment_id": investment_id,
        "unit_id": unit.id,
        "enterprise": {"name": "沈阳某生物科技有限公司", "credit_code": "91210100MA0003"},
        "technology_valuation": "300000.00",
        "cash_amount": "200000.00",
        "researcher_share_pct": "90.00",
        "state_equity_value": "500000.00",
        "project_reference": "HX-2030-01",
    }
    await publish_event(nats_url, "finance.horizontal_investment.recorded", investment_id, data)
    await publish_event(nats_url, "finance.horizontal_investment.recorded", investment_id, data)  # a second event, same investment

    async def equity() -> list[dict]:
        ledger = await unit.client.get(f"/api/v1/units/{unit.id}/separate-ledger", headers=unit.admin)
        return [i for i in ledger.json()["items"] if i["kind"] == "state_equity"]

    [item] = await eventually(equity, timeout=5)
    assert item["source"] == "horizontal_investment" and item["investment_id"] == investment_id
    assert item["value"] == "500000.00" and item["enterprise"]["credit_code"] == "91210100MA0003"
    marker = await system.register_unit()  # a later event on the same consumer proves the duplicate was handled
    await publish_event(nats_url, "finance.horizontal_investment.recorded", "m", {**data, "investment_id": uuid.uuid4().hex, "unit_id": marker["id"]})
    marker_ledger = lambda: unit.client.get(f"/api/v1/units/{marker['id']}/separate-ledger", headers=system.auth("department"))  # noqa: E731
    await eventually(lambda: _has_items(marker_ledger), timeout=5)
    assert len(await equity()) == 1


async def _has_items(request) -> bool:
    return bool((await request()).json()["items"])


def deal(unit_id: str, achievement_id: str, kind: str = "transfer") -> dict:
    return {
        "transaction_id": uuid.uuid4().hex,
        "unit_id": unit_id,
        "achievement_id": achievement_id,
        "kind": kind,
        "price": "450000.00",
        "counterparty": {"name": "营口某制造有限公司", "credit_code": "91210800MA0004", "kind": "enterprise", "ownership": "other", "overseas": False},
        "basis": "notice_clear",
        "concluded_at": "2030-06-01T10:00:00+08:00",
    }


async def test_concluded_deal_transforms_the_achievement_exactly_once_even_when_delivered_twice(
    system: InProcessSystem, unit, nats_url
) -> None:
    a = await unit.achievement(granted_on="2020-01-01")
    assert a["in_pool"] is True
    data = deal(unit.id, a["id"])
    event_id = uuid.uuid4().hex
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data, event_id=event_id)
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data, event_id=event_id, msg_id=uuid.uuid4().hex)
    # The same deal under a fresh event id (a producer retry) must not act again either.
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)
    marker = await unit.achievement()
    await publish_event(nats_url, "pricing.deal.concluded", "marker", deal(unit.id, marker["id"]))

    async def transformed(achievement_id: str) -> dict | None:
        body = (await unit.client.get(f"/api/v1/achievements/{achievement_id}", headers=unit.admin)).json()
        return body if body["transformed"] else None

    await eventually(lambda: transformed(marker["id"]), timeout=5)
    body = await transformed(a["id"])
    assert body is not None and body["status"] == "transformed" and body["in_pool"] is False
    assert body["version"] == a["version"] + 1  # one change, not three


async def test_investment_deal_of_a_separately_managed_achievement_adds_state_equity(system: InProcessSystem, unit, nats_url) -> None:
    a = await unit.achievement()
    await unit.separately_manage(a["id"])
    data = deal(unit.id, a["id"], kind="investment")
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)

    async def equity() -> list[dict]:
        ledger = await unit.client.get(f"/api/v1/units/{unit.id}/separate-ledger", headers=unit.admin)
        return [i for i in ledger.json()["items"] if i["kind"] == "state_equity"]

    [item] = await eventually(equity, timeout=5)
    assert item["source"] == "deal" and item["transaction_id"] == data["transaction_id"]
    assert item["achievement_id"] == a["id"] and item["value"] == "450000.00"


async def test_unknown_achievement_in_a_deal_does_not_block_the_consumer(system: InProcessSystem, unit, nats_url) -> None:
    await publish_event(nats_url, "pricing.deal.concluded", "x", deal(unit.id, "no-such-achievement"))
    await publish_event(nats_url, "pricing.deal.concluded", "x", {"transaction_id": "broken"})
    a = await unit.achievement()
    data = deal(unit.id, a["id"])
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)

    async def transformed() -> bool:
        return (await unit.client.get(f"/api/v1/achievements/{a['id']}", headers=unit.admin)).json()["transformed"]

    await eventually(transformed, timeout=5)


async def empowered_and_separate(unit) -> dict:
    a = await unit.achievement()
    assert (await unit.empower(a["id"], team_share="70.00", unit_share="30.00")).status_code == 201
    assert (await unit.separately_manage(a["id"])).status_code == 200
    return a


async def test_own_11_equity_transfer_with_resource_fee_gives_the_team_100_percent(system: InProcessSystem, unit, outbox) -> None:
    a = await empowered_and_separate(unit)
    url = f"/api/v1/achievements/{a['id']}/equity-transfers"
    no_fee = await unit.client.post(url, json={"mode": "resource_fee", "decision": unit.decision}, headers=unit.admin)
    assert no_fee.status_code == 422 and no_fee.json()["rule"] == "OWN-11"
    response = await unit.client.post(url, json={"mode": "resource_fee", "fee": "20000.00", "decision": unit.decision}, headers=unit.admin)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["team_share"], body["unit_share"], body["transferred_share"]) == ("100.00", "0.00", "30.00")
    [event] = await outbox("ownership.equity_transfer.completed", body["id"])
    assert event["data"]["mode"] == "resource_fee" and event["data"]["fee"] == "20000.00"
    empowerments = (await unit.client.get(f"/api/v1/achievements/{a['id']}/empowerments", headers=unit.admin)).json()["items"]
    assert [(e["team_share"], e["unit_share"]) for e in empowerments] == [("100.00", "0.00")]
    nothing_left = await unit.client.post(url, json={"mode": "resource_fee", "fee": "1.00", "decision": unit.decision}, headers=unit.admin)
    assert nothing_left.status_code == 409 and nothing_left.json()["rule"] == "OWN-11"


async def test_own_11_agreed_return_needs_the_enterprise(system: InProcessSystem, unit, outbox) -> None:
    a = await empowered_and_separate(unit)
    url = f"/api/v1/achievements/{a['id']}/equity-transfers"
    missing = await unit.client.post(url, json={"mode": "agreed_return", "decision": unit.decision}, headers=unit.admin)
    assert missing.status_code == 422 and missing.json()["rule"] == "OWN-11"
    enterprise = {"name": "本溪某医药有限公司", "credit_code": "91210500MA0005"}
    response = await unit.client.post(url, json={"mode": "agreed_return", "enterprise": enterprise, "decision": unit.decision}, headers=unit.admin)
    assert response.status_code == 201, response.text
    [event] = await outbox("ownership.equity_transfer.completed", response.json()["id"])
    assert event["data"]["enterprise"] == enterprise and event["data"]["unit_id"] == unit.id


async def test_own_11_refused_without_separate_management_or_without_ownership_empowerment(system: InProcessSystem, unit) -> None:
    body = {"mode": "resource_fee", "fee": "1000.00", "decision": unit.decision}
    only_empowered = await unit.achievement()
    await unit.empower(only_empowered["id"])
    only_separate = await unit.achievement()
    await unit.separately_manage(only_separate["id"])
    usage_right_only = await unit.achievement()
    await unit.client.post(
        f"/api/v1/achievements/{usage_right_only['id']}/empowerments",
        json={"type": "usage_right", "start_on": "2030-01-01", "end_on": "2045-01-01", "decision": unit.decision},
        headers=unit.admin,
    )
    await unit.separately_manage(usage_right_only["id"])
    for a in (only_empowered, only_separate, usage_right_only):
        response = await unit.client.post(f"/api/v1/achievements/{a['id']}/equity-transfers", json=body, headers=unit.admin)
        assert response.status_code == 422 and response.json()["rule"] == "OWN-11"


async def test_own_8_no_supervising_approval_is_needed_for_separate_management_or_equity_transfer(
    system: InProcessSystem, unit
) -> None:
    """OWN-8: the unit's own decision is the whole procedure; asking for an approval is not even possible."""
    a = await unit.achievement()
    await unit.empower(a["id"])
    with_approval = await unit.client.post(
        f"/api/v1/achievements/{a['id']}/separate-management",
        json={"decision": unit.decision, "supervisor_approval": {"by": "省财政厅"}},
        headers=unit.admin,
    )
    assert with_approval.status_code == 422  # no such field exists
    assert (await unit.separately_manage(a["id"])).status_code == 200
    response = await unit.client.post(
        f"/api/v1/achievements/{a['id']}/equity-transfers",
        json={"mode": "resource_fee", "fee": "5000.00", "decision": unit.decision},
        headers=unit.admin,
    )
    assert response.status_code == 201 and response.json()["team_share"] == "100.00"
