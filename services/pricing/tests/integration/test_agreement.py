"""Agreement pricing: appraisal, notice, objections, conclusion (PRC-1 … PRC-6), through HTTP with the test clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from servicekit.testing import eventually

CST = timezone(timedelta(hours=8))
T0 = datetime(2030, 3, 1, 9, 0, tzinfo=CST)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_clear_notice_allows_a_deal_at_the_agreement_price(system, market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    assert tx["state"] == "draft" and tx["price"] == "500000.00"
    notice = await market.notice(tx, admin)
    assert _at(notice["ends_at"]) - _at(notice["starts_at"]) == timedelta(days=15)  # PRC-4: default notice_days
    assert notice["achievement_title"] == tx["achievement_title"] and notice["price"] == "500000.00"
    assert (await market.get(tx["id"], admin))["state"] == "in_notice"

    await clock(_at(notice["ends_at"]))
    after = await market.get(tx["id"], admin)
    assert after["state"] == "notice_clear"  # PRC-5: no objection
    response = await market.client.post(
        f"{market.T}/{tx['id']}/conclusion", json={"contract_reference": "HT-2030-001", "signed_on": "2030-03-17"}, headers=admin
    )
    assert response.status_code == 200, response.text
    deal = response.json()["deal"]
    assert response.json()["state"] == "concluded"
    assert deal["price"] == "500000.00" and deal["basis"] == "notice_clear"
    assert deal["counterparty"]["credit_code"] == market.PRIVATE["credit_code"]

    concluded = await events("pricing.deal.concluded", tx["id"])
    assert len(concluded) == 1
    data = concluded[0]["data"]
    assert data["price"] == "500000.00" and data["basis"] == "notice_clear" and data["kind"] == "transfer"
    assert {"transaction_id", "unit_id", "achievement_id", "counterparty", "concluded_at"} <= data.keys()
    assert len(await events("pricing.notice.published", notice["id"])) == 1
    closed = await events("pricing.notice.closed", notice["id"])
    assert [e["data"]["objected"] for e in closed] == [False]


async def test_notice_runs_the_units_own_notice_days(market, clock) -> None:
    await clock(T0)
    tx, admin = await market.agreement(policy={"notice_days": 20})
    notice = await market.notice(tx, admin)
    assert _at(notice["ends_at"]) == _at(notice["starts_at"]) + timedelta(days=20)  # PRC-4


async def test_conclusion_one_second_before_the_notice_ends_is_refused_with_prc_4(market, clock) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    body = {"contract_reference": "HT-1", "signed_on": "2030-03-02"}
    draft = await market.client.post(f"{market.T}/{tx['id']}/conclusion", json=body, headers=admin)
    assert draft.status_code == 409 and draft.json()["rule"] == "PRC-4"
    notice = await market.notice(tx, admin)
    await clock(_at(notice["ends_at"]) - timedelta(seconds=1))
    early = await market.client.post(f"{market.T}/{tx['id']}/conclusion", json=body, headers=admin)
    assert early.status_code == 409 and early.json()["rule"] == "PRC-4"
    await clock(_at(notice["ends_at"]))
    on_time = await market.client.post(f"{market.T}/{tx['id']}/conclusion", json=body, headers=admin)
    assert on_time.status_code == 200, on_time.text


async def test_objection_one_second_before_the_end_counts_and_at_the_end_is_refused_with_prc_5(market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    await clock(_at(notice["ends_at"]) - timedelta(seconds=1))
    accepted = await market.object(notice["id"])
    assert accepted.status_code == 201, accepted.text
    await clock(_at(notice["ends_at"]))
    refused = await market.object(notice["id"])
    assert refused.status_code == 409 and refused.json()["rule"] == "PRC-5"
    assert (await market.get(tx["id"], admin))["state"] == "notice_objected"
    assert len(await events("pricing.notice.objected", notice["id"])) == 1
    conclusion = await market.client.post(
        f"{market.T}/{tx['id']}/conclusion", json={"contract_reference": "HT-1", "signed_on": "2030-03-20"}, headers=admin
    )
    assert conclusion.status_code == 409 and conclusion.json()["rule"] == "PRC-6"


async def test_anonymous_objection_needs_a_name_and_a_phone_or_email_prc_5(market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    url = f"/api/v1/notices/{notice['id']}/objections"
    for body in ({"reason": "x"}, {"reason": "x", "contact": {"name": "王五"}},
                 {"reason": "x", "contact": {"phone": "13800000000"}}):
        refused = await market.client.post(url, json=body)
        assert refused.status_code == 422 and refused.json()["rule"] == "PRC-5", refused.text
    for contact in ({"name": "王五", "phone": "13800000000"}, {"name": "赵六", "email": "zhao@example.cn"}):
        accepted = await market.client.post(url, json={"reason": "价格偏低", "contact": contact})
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["anonymous"] is True
    assert len(await events("pricing.notice.objected", notice["id"])) == 2
    steps = [i for i in await market.record(tx["id"], admin) if i["step"] == "objection_received"]
    assert [(s["actor"], s["details"]["anonymous"]) for s in steps] == [("anonymous", True)] * 2


async def test_anonymous_objections_are_limited_per_client_address_prc_5(market, clock) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    url = f"/api/v1/notices/{notice['id']}/objections"
    body = {"reason": "价格偏低", "contact": {"name": "王五", "phone": "13800000000"}}
    address = {"X-Forwarded-For": "203.0.113.7"}
    statuses = [(await market.client.post(url, json=body, headers=address)).status_code for _ in range(10)]
    assert statuses == [201] * 10  # at least 10 a minute are accepted
    over = await market.client.post(url, json=body, headers=address)
    assert over.status_code == 429 and over.json()["rule"] == "PRC-5"
    other = await market.client.post(url, json=body, headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.8"})
    assert other.status_code == 201  # another address (the last hop the gateway saw) has its own allowance
    with_token = await market.object(notice["id"])
    assert with_token.status_code == 201  # objections with a token are not limited here
    await clock(T0 + timedelta(minutes=2))
    assert (await market.client.post(url, json=body, headers=address)).status_code == 201  # a minute later: allowed again


async def test_objected_notice_lists_at_the_agreement_price_and_expires_to_a_deal_with_the_original_party(market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    assert (await market.object(notice["id"])).status_code == 201
    early = await market.client.post(f"{market.T}/{tx['id']}/listing", json={"exchange": "辽宁技术交易市场"}, headers=admin)
    assert early.status_code == 409 and early.json()["rule"] == "PRC-6"  # still in notice
    await clock(_at(notice["ends_at"]))
    other_price = await market.client.post(
        f"{market.T}/{tx['id']}/listing", json={"exchange": "辽宁技术交易市场", "price": "450000.00"}, headers=admin
    )
    assert other_price.status_code == 422 and other_price.json()["rule"] == "PRC-6"
    response = await market.client.post(
        f"{market.T}/{tx['id']}/listing", json={"exchange": "辽宁技术交易市场", "price": "500000.00"}, headers=admin
    )
    assert response.status_code == 201, response.text
    listing = response.json()
    assert listing["price"] == "500000.00"
    assert _at(listing["closes_at"]) - _at(listing["opens_at"]) == timedelta(days=15)  # PRC-6: half a month

    await clock(_at(listing["closes_at"]) - timedelta(seconds=1))
    body = {"contract_reference": "HT-2", "signed_on": "2030-04-01"}
    still_listed = await market.client.post(f"{market.T}/{tx['id']}/conclusion", json=body, headers=admin)
    assert still_listed.status_code == 409 and still_listed.json()["rule"] == "PRC-6"

    await clock(_at(listing["closes_at"]))
    late = await market.client.post(
        f"/api/v1/listings/{listing['id']}/delistings", json={"party": market.STATE_OWNED}, headers=market.system.auth("enterprise")
    )
    assert late.status_code == 409 and late.json()["rule"] == "PRC-6"
    assert (await market.get(tx["id"], admin))["state"] == "listing_expired"
    done = await market.client.post(f"{market.T}/{tx['id']}/conclusion", json=body, headers=admin)
    assert done.status_code == 200, done.text
    deal = done.json()["deal"]
    assert deal["basis"] == "listing_expired" and deal["price"] == "500000.00"
    assert deal["counterparty"]["credit_code"] == market.PRIVATE["credit_code"]
    assert len(await events("pricing.listing.expired", listing["id"])) == 1
    assert [e["data"]["basis"] for e in await events("pricing.deal.concluded", tx["id"])] == ["listing_expired"]


async def test_delisting_one_second_before_close_takes_the_deal_at_the_listing_price(market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    assert (await market.object(notice["id"])).status_code == 201
    await clock(_at(notice["ends_at"]))
    listing = (await market.client.post(f"{market.T}/{tx['id']}/listing", json={"exchange": "沈阳"}, headers=admin)).json()
    await clock(_at(listing["closes_at"]) - timedelta(seconds=1))
    response = await market.client.post(
        f"/api/v1/listings/{listing['id']}/delistings", json={"party": market.STATE_OWNED}, headers=market.system.auth("enterprise")
    )
    assert response.status_code == 201, response.text
    assert response.json()["transaction_state"] == "concluded"
    deal = (await market.get(tx["id"], admin))["deal"]
    assert deal["basis"] == "delisted" and deal["price"] == "500000.00"
    assert deal["counterparty"]["credit_code"] == market.STATE_OWNED["credit_code"]  # PRC-7: the delisting party
    second = await market.client.post(
        f"/api/v1/listings/{listing['id']}/delistings", json={"party": market.PRIVATE}, headers=market.system.auth("enterprise")
    )
    assert second.status_code == 409 and second.json()["rule"] == "PRC-7"


async def test_listing_method_needs_a_price_and_lists_directly(market, clock) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    tx = (await market.open(admin, achievement["id"], method="listing", appraisal=market.APPRAISED)).json()
    no_price = await market.client.post(f"{market.T}/{tx['id']}/listing", json={"exchange": "大连"}, headers=admin)
    assert no_price.status_code == 422 and no_price.json()["rule"] == "PRC-3"
    notice = await market.client.post(f"{market.T}/{tx['id']}/notice", json={}, headers=admin)
    assert notice.status_code == 409 and notice.json()["rule"] == "PRC-4"
    listed = await market.client.post(f"{market.T}/{tx['id']}/listing", json={"exchange": "大连", "price": "300000.00"}, headers=admin)
    assert listed.status_code == 201 and listed.json()["price"] == "300000.00"
    public = await market.client.get("/api/v1/listings", params={"active": "true", "unit_id": unit["id"]})
    assert [item["id"] for item in public.json()["items"]] == [listed.json()["id"]]


async def test_sweeper_closes_a_notice_within_five_seconds_of_the_clock_passing_it(system, market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    public = await market.client.get("/api/v1/notices", params={"active": "true", "unit_id": tx["unit_id"]})
    assert [n["id"] for n in public.json()["items"]] == [notice["id"]]
    await clock(_at(notice["ends_at"]) + timedelta(milliseconds=1))

    async def closed() -> bool:  # no read of the transaction: only the sweeper can close it
        return len(await events("pricing.notice.closed", notice["id"])) == 1

    await eventually(closed, timeout=5)
    public = await market.client.get("/api/v1/notices", params={"active": "true", "unit_id": tx["unit_id"]})
    assert public.json()["items"] == []


async def test_withdrawn_transaction_ends_its_notice(market, clock) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    response = await market.client.post(f"{market.T}/{tx['id']}/withdrawal", json={}, headers=admin)
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    objection = await market.object(notice["id"])
    assert objection.status_code == 409 and objection.json()["rule"] == "PRC-5"
    again = await market.client.post(f"{market.T}/{tx['id']}/withdrawal", json={}, headers=admin)
    assert again.status_code == 409
