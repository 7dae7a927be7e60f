"""The rights record through HTTP (OWN-16), learnt from pricing's events; OWN-9's old endpoint (410); OWN-1, OWN-3."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem, eventually, publish_event

NOW = datetime(2030, 3, 1, 10, 0, tzinfo=SHANGHAI)
BUYER = {"name": "大连某装备制造有限公司", "credit_code": "91210200MA0001", "kind": "enterprise", "ownership": "other",
         "overseas": False, "size": "small"}


def deal_data(unit_id: str, achievement_id: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": uuid.uuid4().hex, "unit_id": unit_id, "achievement_id": achievement_id, "kind": kind,
        "price": "250000.00", "counterparty": BUYER, "basis": "notice_clear", "method": "agreement",
        "licence": None, "payment": {"mode": "at_conclusion", "due_on": None, "conditions": None},
        "technology_manager_ids": [], **extra,
    }


async def rights_of(unit, achievement_id: str) -> dict[str, Any]:
    response = await unit.client.get(f"/api/v1/achievements/{achievement_id}/rights", headers=unit.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def test_own_16_a_fresh_achievement_is_held_wholly_by_its_unit(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    rights = await rights_of(unit, a["id"])
    assert rights == {
        "achievement_id": a["id"], "unit_id": unit.id, "status": "held", "unit_share": "100.00", "team_share": "0.00",
        "usage_rights": [], "licences": [], "transfers": [], "investments": [], "open_transaction_ids": [],
        "version": 1,
    }
    pricing = system.auth("service")
    assert (await unit.client.get(f"/api/v1/achievements/{a['id']}/rights", headers=pricing)).status_code == 200
    enterprise = system.auth("enterprise")
    assert (await unit.client.get(f"/api/v1/achievements/{a['id']}/rights", headers=enterprise)).status_code == 403


async def test_own_16_after_a_full_transfer_the_rights_show_disposed(system: InProcessSystem, unit, nats_url) -> None:
    a = await unit.achievement()
    data = deal_data(unit.id, a["id"], "transfer")
    await publish_event(nats_url, "pricing.transaction.opened", data["transaction_id"], {
        "transaction_id": data["transaction_id"], "unit_id": unit.id, "achievement_id": a["id"], "kind": "transfer",
        "method": "agreement", "licence": None, "payment": None, "technology_manager_ids": [],
    })

    async def opened() -> bool:
        return (await rights_of(unit, a["id"]))["open_transaction_ids"] == [data["transaction_id"]]

    await eventually(opened)
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)

    async def disposed() -> dict[str, Any] | None:
        rights = await rights_of(unit, a["id"])
        return rights if rights["status"] == "disposed" else None

    rights = await eventually(disposed)
    assert (rights["unit_share"], rights["open_transaction_ids"]) == ("0.00", [])
    [transfer] = rights["transfers"]
    assert transfer["transaction_id"] == data["transaction_id"] and transfer["price"] == "250000.00"
    achievement = (await unit.client.get(f"/api/v1/achievements/{a['id']}", headers=unit.admin)).json()
    assert achievement["transformed"] is True and achievement["in_pool"] is False
    refused = await unit.empower(a["id"])
    assert refused.status_code == 409 and refused.json()["rule"] == "OWN-16"


async def test_own_9_a_pay_later_licence_deal_is_a_licence_in_force_and_leaves_the_pool(
    system: InProcessSystem, unit, nats_url, clock
) -> None:
    await clock(NOW)
    a = await unit.achievement(granted_on="2020-05-01")
    assert a["in_pool"] is True
    licence = {"scope": "exclusive", "start_on": "2030-03-01", "end_on": "2035-03-31"}
    payment = {"mode": "pay_later", "due_on": "2031-06-30", "conditions": "首批产品销售后支付"}
    data = deal_data(unit.id, a["id"], "license", licence=licence, payment=payment)
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)

    async def licensed() -> list[dict[str, Any]]:
        return (await rights_of(unit, a["id"]))["licences"]

    [entry] = await eventually(licensed)
    assert entry == {"transaction_id": data["transaction_id"], "licensee": BUYER, "scope": "exclusive",
                     "start_on": "2030-03-01", "end_on": "2035-03-31", "pay_later": True, "price": "250000.00"}
    assert (await rights_of(unit, a["id"]))["status"] == "partly_disposed"
    achievement = (await unit.client.get(f"/api/v1/achievements/{a['id']}", headers=unit.admin)).json()
    assert achievement["transformed"] is True and achievement["in_pool"] is False


async def test_own_16_withdrawn_and_failed_transactions_are_no_longer_open(system: InProcessSystem, unit, nats_url) -> None:
    a = await unit.achievement()
    withdrawn, failed, won = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    for tx, kind in ((withdrawn, "transfer"), (failed, "license"), (won, "license")):
        await publish_event(nats_url, "pricing.transaction.opened", tx, {
            "transaction_id": tx, "unit_id": unit.id, "achievement_id": a["id"], "kind": kind, "method": "auction",
            "licence": {"scope": "ordinary", "start_on": None, "end_on": None} if kind == "license" else None,
        })
    steps = ((withdrawn, "withdrawn", {}), (failed, "auction_closed", {"winning_bid_id": None}),
             (won, "auction_closed", {"winning_bid_id": "b1"}))
    for seq, (tx, step, details) in enumerate(steps, start=2):
        await publish_event(nats_url, "pricing.record.appended", tx, {
            "transaction_id": tx, "unit_id": unit.id, "achievement_id": a["id"], "seq": seq,
            "at": NOW.isoformat(), "step": step, "actor": "system", "details": details,
        })

    async def only_the_won_auction_open() -> bool:
        return (await rights_of(unit, a["id"]))["open_transaction_ids"] == [won]

    await eventually(only_the_won_auction_open)


async def test_own_9_the_pay_later_licence_endpoint_is_gone(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    response = await unit.client.post(f"/api/v1/achievements/{a['id']}/pay-later-licences", json={}, headers=unit.admin)
    assert response.status_code == 410
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["rule"] == "OWN-9" and "POST /api/v1/transactions" in problem["detail"]


async def test_own_1_unit_share_of_0_01_is_accepted_and_0_00_refused(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    refused = await unit.empower(a["id"], team_share="100.00", unit_share="0.00")
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-1"
    accepted = await unit.empower(a["id"], team_share="99.99", unit_share="0.01")
    assert accepted.status_code == 201, accepted.text
    rights = await rights_of(unit, a["id"])
    assert (rights["status"], rights["unit_share"], rights["team_share"]) == ("partly_disposed", "0.01", "99.99")


async def test_own_3_extension_before_the_end_is_accepted_not_later_end_and_no_decision_refused(system: InProcessSystem, unit, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    granted = (await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))).json()
    extend = f"/api/v1/empowerments/{granted['id']}/extension"
    same_end = await unit.client.post(extend, json={"new_end_on": "2040-03-01", "decision": unit.decision}, headers=unit.admin)
    assert same_end.status_code == 422 and same_end.json()["rule"] == "OWN-3"
    no_decision = await unit.client.post(extend, json={"new_end_on": "2045-03-01"}, headers=unit.admin)
    assert no_decision.status_code == 422 and no_decision.json()["rule"] == "OWN-5"
    early = await unit.client.post(extend, json={"new_end_on": "2040-03-02", "decision": unit.decision}, headers=unit.admin)
    assert early.status_code == 200, early.text
    assert early.json()["end_on"] == "2040-03-02"
    [usage] = (await rights_of(unit, a["id"]))["usage_rights"]
    assert usage == {"empowerment_id": granted["id"], "start_on": "2030-03-01", "end_on": "2040-03-02"}


async def test_own_3_no_extension_after_conversion_409(system: InProcessSystem, unit, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    granted = (await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))).json()
    consent = {"by": "张三", "on": "2030-02-20"}
    converted = await unit.client.post(
        f"/api/v1/empowerments/{granted['id']}/conversion",
        json={"team_share": "60.00", "unit_share": "40.00", "unit_consent": consent, "team_consent": consent},
        headers=unit.admin,
    )
    assert converted.status_code == 200, converted.text
    refused = await unit.client.post(
        f"/api/v1/empowerments/{granted['id']}/extension",
        json={"new_end_on": "2045-03-01", "decision": unit.decision}, headers=unit.admin,
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "OWN-3"


async def test_own_3_no_extension_after_the_achievement_was_transferred_409(system: InProcessSystem, unit, clock, nats_url) -> None:
    await clock(NOW)
    a = await unit.achievement()
    granted = (await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))).json()
    data = deal_data(unit.id, a["id"], "transfer")
    await publish_event(nats_url, "pricing.deal.concluded", data["transaction_id"], data)

    async def disposed() -> bool:
        return (await rights_of(unit, a["id"]))["status"] == "disposed"

    await eventually(disposed)
    refused = await unit.client.post(
        f"/api/v1/empowerments/{granted['id']}/extension",
        json={"new_end_on": "2045-03-01", "decision": unit.decision}, headers=unit.admin,
    )
    assert refused.status_code == 409 and refused.json()["rule"] == "OWN-3"
