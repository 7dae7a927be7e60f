"""PRC-9 the immutable procedural record; PRC-10 two-way challenges."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

CST = timezone(timedelta(hours=8))
T0 = datetime(2032, 7, 1, 8, 30, tzinfo=CST)


async def test_record_lists_every_step_in_order_and_no_api_alters_a_past_step(market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    assert (await market.object(notice["id"])).status_code == 201
    before = await market.record(tx["id"], admin)
    await clock(datetime.fromisoformat(notice["ends_at"]))
    listing = (await market.client.post(f"{market.T}/{tx['id']}/listing", json={"exchange": "沈阳"}, headers=admin)).json()
    delisting = await market.client.post(f"/api/v1/listings/{listing['id']}/delistings", json={"party": market.STATE_OWNED},
                                         headers=market.system.auth("enterprise", sub="buyer-1"))
    assert delisting.status_code == 201
    record = await market.record(tx["id"], admin)
    assert [item["step"] for item in record] == [
        "opened", "appraisal_recorded", "notice_published", "objection_received",
        "notice_closed", "listing_published", "delisted", "concluded",
    ]
    assert [item["seq"] for item in record] == list(range(1, 9))
    assert record[:len(before)] == before  # later steps never change earlier ones
    assert [item["at"] for item in record] == sorted(item["at"] for item in record)
    assert record[4]["details"]["objected"] is True and record[4]["actor"] == "system"
    assert record[6]["actor"] == "buyer-1"
    assert record[7]["details"]["basis"] == "delisted" and record[7]["details"]["price"] == "500000.00"
    appended = await events("pricing.record.appended", tx["id"])
    assert [e["data"]["seq"] for e in appended] == list(range(1, 9))
    assert [e["data"]["step"] for e in appended] == [item["step"] for item in record]
    assert {e["data"]["achievement_id"] for e in appended} == {tx["achievement_id"]}

    url = f"{market.T}/{tx['id']}/record"
    for method in ("PUT", "PATCH", "DELETE"):
        response = await market.client.request(method, url, json={"items": []}, headers=admin)
        assert response.status_code == 405
    assert await market.record(tx["id"], admin) == record


async def test_the_database_refuses_to_change_or_delete_a_record_entry(system, market) -> None:
    tx, _ = await market.agreement()
    runtime = system.runtime("pricing")
    for statement in ("UPDATE record_entries SET step = 'forged' WHERE transaction_id = :id",
                      "DELETE FROM record_entries WHERE transaction_id = :id"):
        async with runtime.sessions() as session:
            with pytest.raises(DBAPIError, match="PRC-9"):
                async with session.begin():
                    await session.execute(text(statement), {"id": tx["id"]})


async def _challenge(market, **body):
    publisher = market.system.auth("enterprise", sub="ent-publisher")
    payload = {"direction": "technology_wanted", "title": "寻求高效储能材料技术", "description": "储能",
               "publisher": {"name": "鞍钢集团", "credit_code": "91210300MA000000A1"}, "budget": "2000000.00", **body}
    response = await market.client.post("/api/v1/challenges", json=payload, headers=publisher)
    return response, publisher


async def test_challenge_is_awarded_and_landed_by_its_publisher(market, events) -> None:
    response, publisher = await _challenge(market)
    assert response.status_code == 201, response.text
    challenge = response.json()
    assert challenge["state"] == "open"
    public = await market.client.get(f"/api/v1/challenges/{challenge['id']}")
    assert public.status_code == 200 and public.json()["state"] == "open"
    responder = {"name": "东北大学", "credit_code": "12210000MB000000B2"}
    answer = await market.client.post(f"/api/v1/challenges/{challenge['id']}/responses",
                                      json={"responder": responder, "proposal": "方案"}, headers=market.system.auth("researcher", "u"))
    assert answer.status_code == 201, answer.text
    early_landing = await market.client.post(f"/api/v1/challenges/{challenge['id']}/landing",
                                             json={"landed_on": "2032-09-01", "evidence": "投产报告"}, headers=publisher)
    assert early_landing.status_code == 409 and early_landing.json()["rule"] == "PRC-10"
    stranger = await market.client.post(f"/api/v1/challenges/{challenge['id']}/award",
                                        json={"response_id": answer.json()["id"]}, headers=market.system.auth("enterprise"))
    assert stranger.status_code == 403
    award = await market.client.post(f"/api/v1/challenges/{challenge['id']}/award",
                                     json={"response_id": answer.json()["id"]}, headers=publisher)
    assert award.status_code == 200 and award.json()["state"] == "awarded"
    late_answer = await market.client.post(f"/api/v1/challenges/{challenge['id']}/responses",
                                           json={"responder": responder, "proposal": "x"}, headers=market.system.auth("enterprise"))
    assert late_answer.status_code == 409 and late_answer.json()["rule"] == "PRC-10"
    landing = await market.client.post(f"/api/v1/challenges/{challenge['id']}/landing",
                                       json={"landed_on": "2032-09-01", "evidence": "投产报告"}, headers=publisher)
    assert landing.status_code == 200 and landing.json()["state"] == "landed"
    assert (await market.client.get(f"/api/v1/challenges/{challenge['id']}")).json()["state"] == "landed"
    awarded = await events("pricing.challenge.awarded", challenge["id"])
    assert [e["data"]["response_id"] for e in awarded] == [answer.json()["id"]]
    landed = await events("pricing.challenge.landed", challenge["id"])
    assert len(landed) == 1
    assert landed[0]["data"] == {
        "challenge_id": challenge["id"], "landed_on": "2032-09-01",
        "publisher": {"name": "鞍钢集团", "credit_code": "91210300MA000000A1"},
        "awarded_response_id": answer.json()["id"], "responder": responder,
        "direction": None, "enterprise": None,
    }


async def test_platform_admin_may_award_and_the_public_list_shows_challenges(market) -> None:
    response, _ = await _challenge(market)
    challenge = response.json()
    answer = await market.client.post(f"/api/v1/challenges/{challenge['id']}/responses",
                                      json={"responder": {"name": "甲", "credit_code": "1"}, "proposal": "p"},
                                      headers=market.system.auth("enterprise"))
    award = await market.client.post(f"/api/v1/challenges/{challenge['id']}/award", json={"response_id": answer.json()["id"]},
                                     headers=market.system.auth("platform_admin"))
    assert award.status_code == 200
    listed = await market.client.get("/api/v1/challenges", params={"state": "awarded", "limit": 200})
    assert listed.status_code == 200 and challenge["id"] in [c["id"] for c in listed.json()["items"]]


async def test_who_publishes_which_direction(market) -> None:
    wrong_role = await market.client.post("/api/v1/challenges", json={
        "direction": "technology_wanted", "title": "t", "description": "d", "publisher": {"name": "n", "credit_code": "c"}},
        headers=market.system.auth("unit_admin", "u1"))
    assert wrong_role.status_code == 403
    unknown = await market.client.post("/api/v1/challenges", json={
        "direction": "both", "title": "t", "description": "d", "publisher": {"name": "n", "credit_code": "c"}},
        headers=market.system.auth("enterprise"))
    assert unknown.status_code == 422 and unknown.json()["rule"] == "PRC-10"
    unit, admin = await market.unit()
    body = {"direction": "market_wanted", "title": "成果找市场", "description": "d", "publisher": {"name": unit["name"], "credit_code": "u"}}
    no_achievement = await market.client.post("/api/v1/challenges", json=body, headers=admin)
    assert no_achievement.status_code == 422 and no_achievement.json()["rule"] == "PRC-10"
    other, _ = await market.unit()
    foreign = await market.ownership.add(other["id"])
    assert (await market.client.post("/api/v1/challenges", json={**body, "achievement_id": foreign["id"]}, headers=admin)).status_code == 404
    own = await market.ownership.add(unit["id"])
    created = await market.client.post("/api/v1/challenges", json={**body, "achievement_id": own["id"]}, headers=admin)
    assert created.status_code == 201 and created.json()["unit_id"] == unit["id"]
