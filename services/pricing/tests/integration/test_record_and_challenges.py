"""PRC-9 the immutable procedural record; PRC-10 two-way challenges."""
from __future__ import annotations

import hashlib
import uuid
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
               "publisher": {"name": "鞍钢集团", "credit_code": "91210300MA000000A1"}, "budget": "2000000.00",
               "field": "新能源", "region": "鞍山", "closes_on": "2099-12-31", **body}
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
        "direction": "technology_wanted", "enterprise": {"name": "鞍钢集团", "credit_code": "91210300MA000000A1"},
    }
    assert awarded[0]["data"]["enterprise"] == {"name": "鞍钢集团", "credit_code": "91210300MA000000A1"}


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
    body = {"direction": "market_wanted", "title": "成果找市场", "description": "d", "publisher": {"name": unit["name"], "credit_code": "u"},
            "field": "新材料", "region": "沈阳", "closes_on": "2099-12-31"}
    no_achievement = await market.client.post("/api/v1/challenges", json=body, headers=admin)
    assert no_achievement.status_code == 422 and no_achievement.json()["rule"] == "PRC-10"
    other, _ = await market.unit()
    foreign = await market.ownership.add(other["id"])
    assert (await market.client.post("/api/v1/challenges", json={**body, "achievement_id": foreign["id"]}, headers=admin)).status_code == 404
    own = await market.ownership.add(unit["id"])
    created = await market.client.post("/api/v1/challenges", json={**body, "achievement_id": own["id"]}, headers=admin)
    assert created.status_code == 201 and created.json()["unit_id"] == unit["id"]


async def test_challenge_search_finds_chinese_words_of_two_and_more_characters_prc_10(market) -> None:
    field = f"新材料-{uuid.uuid4().hex[:6]}"
    made = {}
    for key, title, description, region in (
        ("catalyst", "寻求高效加氢脱硫催化剂", "面向炼化企业的工业示范", "大连市"),
        ("hydrogen", "高压储氢瓶碳纤维缠绕技术", "70MPa车载储氢，需中试", "鞍山市"),
        ("membrane", "海水淡化复合膜", "寻找催化与膜分离耦合的合作方", "大连市"),
    ):
        response, _ = await _challenge(market, title=title, description=description, field=field, region=region)
        assert response.status_code == 201, response.text
        made[key] = response.json()["id"]

    async def found(**params) -> set[str]:
        response = await market.client.get("/api/v1/challenges", params={"field": field, "limit": 200, **params})
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await found(q="催化") == {made["catalyst"], made["membrane"]}  # two characters: title or description
    assert await found(q="储氢瓶") == {made["hydrogen"]}  # three or more: the trigram index
    assert await found(q="脱硫催化剂") == {made["catalyst"]}
    assert await found(q="催化 大连") == set()  # every word must occur (大连 is the region, not the text)
    assert await found(q="催化 耦合") == {made["membrane"]}
    assert await found(q="mpa") == {made["hydrogen"]}  # case-insensitive
    assert await found(q="100%") == set() and await found(q="_") == {made["catalyst"], made["hydrogen"], made["membrane"]}
    assert await found(region="大连市") == {made["catalyst"], made["membrane"]}
    assert await found(region="大连市", q="催化剂") == {made["catalyst"]}
    assert await found(direction="market_wanted") == set()


async def test_responses_run_through_the_closing_day_in_shanghai_then_the_challenge_is_closed_prc_10(market, clock) -> None:
    response, publisher = await _challenge(market, closes_on="2031-06-30", field=f"f-{uuid.uuid4().hex[:6]}")
    assert response.status_code == 201, response.text
    challenge = response.json()
    url = f"/api/v1/challenges/{challenge['id']}"
    body = {"responder": {"name": "东北大学", "credit_code": "12210000MB000000B2"}, "proposal": "方案"}
    await clock(datetime(2031, 6, 30, 23, 59, 59, tzinfo=CST))
    last_minute = await market.client.post(f"{url}/responses", json=body, headers=market.system.auth("enterprise"))
    assert last_minute.status_code == 201, last_minute.text
    await clock(datetime(2031, 7, 1, 0, 0, tzinfo=CST))
    late = await market.client.post(f"{url}/responses", json=body, headers=market.system.auth("enterprise"))
    assert late.status_code == 409 and late.json()["rule"] == "PRC-10"
    assert (await market.client.get(url)).json()["state"] == "closed"
    closed = await market.client.get("/api/v1/challenges", params={"field": challenge["field"], "state": "closed"})
    assert [c["id"] for c in closed.json()["items"]] == [challenge["id"]]
    award = await market.client.post(f"{url}/award", json={"response_id": last_minute.json()["id"]}, headers=publisher)
    assert award.status_code == 200 and award.json()["state"] == "awarded"  # chosen among the responses after closing
    again = await market.client.post(f"{url}/award", json={"response_id": last_minute.json()["id"]}, headers=publisher)
    assert again.status_code == 409 and again.json()["rule"] == "PRC-10"  # one award


async def test_a_challenge_without_field_region_or_closing_day_is_refused_prc_10(market) -> None:
    for missing in ("field", "region", "closes_on"):
        response, _ = await _challenge(market, **{missing: None})
        assert response.status_code == 422 and response.json()["rule"] == "PRC-10", response.text


async def test_a_market_wanted_award_entitles_the_responder_prc_10(market, events) -> None:
    unit, admin = await market.unit()
    own = await market.ownership.add(unit["id"])
    body = {"direction": "market_wanted", "title": "成果找市场", "description": "d", "achievement_id": own["id"],
            "publisher": {"name": unit["name"], "credit_code": "u"}, "field": "新材料", "region": "沈阳", "closes_on": "2099-12-31"}
    challenge = (await market.client.post("/api/v1/challenges", json=body, headers=admin)).json()
    responder = {"name": "沈阳新材料科技有限公司", "credit_code": "91210100MA0000002Y"}
    answer = await market.client.post(f"/api/v1/challenges/{challenge['id']}/responses",
                                      json={"responder": responder, "proposal": "p"}, headers=market.system.auth("enterprise"))
    await market.client.post(f"/api/v1/challenges/{challenge['id']}/award", json={"response_id": answer.json()["id"]}, headers=admin)
    await market.client.post(f"/api/v1/challenges/{challenge['id']}/landing", json={"landed_on": "2032-01-01", "evidence": "e"},
                             headers=admin)
    for event_type in ("pricing.challenge.awarded", "pricing.challenge.landed"):
        data = (await events(event_type, challenge["id"]))[0]["data"]
        assert data["direction"] == "market_wanted" and data["enterprise"] == responder


async def test_a_document_is_attached_with_its_hash_in_the_record_and_the_event_doc_1(market, system, events) -> None:
    tx, admin = await market.agreement()
    content = "辽评报字〔2030〕001号 资产评估报告".encode() * 100
    url = f"{market.T}/{tx['id']}/documents"
    files = {"file": ("评估报告.pdf", content, "application/pdf")}
    attached = await market.client.post(url, data={"kind": "appraisal_report"}, files=files, headers=admin)
    assert attached.status_code == 201, attached.text
    document = attached.json()
    digest = hashlib.sha256(content).hexdigest()
    assert document["sha256"] == digest and document["size"] == len(content) and document["kind"] == "appraisal_report"
    step = [i for i in await market.record(tx["id"], admin) if i["step"] == "document_attached"][0]
    assert step["details"]["id"] == document["id"] and step["details"]["sha256"] == digest
    data = (await events("pricing.document.attached", tx["id"]))[0]["data"]
    assert data["document_id"] == document["id"] and data["sha256"] == digest and data["kind"] == "appraisal_report"
    download = await market.client.get(f"{url}/{document['id']}", headers=admin)
    assert download.status_code == 200 and download.content == content and download.headers["etag"] == f'"{digest}"'
    assert (await market.client.get(f"{url}/{document['id']}", headers=system.auth("unit_admin", "another-unit"))).status_code == 404
    unknown_kind = await market.client.post(url, data={"kind": "photo"}, files=files, headers=admin)
    assert unknown_kind.status_code == 422 and unknown_kind.json()["rule"] == "DOC-1"
    other_tx, other_admin = await market.agreement()
    assert (await market.client.get(f"{market.T}/{other_tx['id']}/documents/{document['id']}",
                                    headers=other_admin)).status_code == 404  # a document of another transaction
