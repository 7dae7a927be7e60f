"""What the unit still holds (OWN-16, PRC-11), pay-later licences (OWN-9) and technology managers (PRC-12), through HTTP."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from servicekit.testing import eventually

CST = timezone(timedelta(hours=8))
T0 = datetime(2033, 3, 1, 9, 0, tzinfo=CST)
PAY_LATER = {"mode": "pay_later", "due_on": "2034-06-30", "conditions": "首年销售收入达到500万元后支付"}
CONTRACT = {"contract_reference": "HT-2033-01", "signed_on": "2033-03-20"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def _open(market, admin, achievement_id: str, **body: Any):
    payload = {"counterparty": market.PRIVATE, "proposed_price": "300000.00", "appraisal": market.APPRAISED, **body}
    return await market.open(admin, achievement_id, **payload)


async def _cleared(market, clock, admin, achievement_id: str, **body: Any) -> dict[str, Any]:
    """An agreement transaction whose notice ended without objection (clock moved past it)."""
    response = await _open(market, admin, achievement_id, **body)
    assert response.status_code == 201, response.text
    tx = response.json()
    notice = await market.notice(tx, admin)
    await clock(_at(notice["ends_at"]))
    return tx


async def _conclude(market, tx: dict[str, Any], admin):
    return await market.client.post(f"{market.T}/{tx['id']}/conclusion", json=CONTRACT, headers=admin)


async def test_a_pay_later_fee_is_published_in_the_notice_and_carried_by_the_deal_own_9(market, clock, events) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    response = await _open(market, admin, achievement["id"], kind="license", counterparty=market.SMALL,
                           proposed_price="120000.00", licence={"scope": "ordinary"}, payment=PAY_LATER)
    assert response.status_code == 201, response.text
    tx = response.json()
    assert tx["payment"] == PAY_LATER and tx["licence"] == {"scope": "ordinary", "start_on": None, "end_on": None}
    notice = await market.notice(tx, admin)
    public = await market.client.get("/api/v1/notices", params={"active": "true", "unit_id": unit["id"]})
    assert public.status_code == 200
    assert [(n["id"], n["price"], n["achievement_title"]) for n in public.json()["items"]] == [
        (notice["id"], "120000.00", achievement["title"])]  # PRC-4: the name and the fee, like any agreement price
    await clock(_at(notice["ends_at"]))
    concluded = await _conclude(market, tx, admin)
    assert concluded.status_code == 200, concluded.text
    data = (await events("pricing.deal.concluded", tx["id"]))[0]["data"]
    assert data["method"] == "agreement" and data["kind"] == "license" and data["price"] == "120000.00"
    assert data["payment"] == PAY_LATER
    assert data["licence"] == {"scope": "ordinary", "start_on": None, "end_on": None}


async def test_pay_later_is_refused_for_a_large_or_unsized_enterprise_and_outside_agreement_licences_own_9(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    for body in (
        {"kind": "license", "counterparty": {**market.PRIVATE, "size": "large"}},
        {"kind": "license", "counterparty": market.PRIVATE},  # size missing
        {"kind": "transfer", "counterparty": market.SMALL},
        {"kind": "license", "counterparty": market.SMALL, "payment": {"mode": "pay_later", "due_on": "2034-06-30"}},
    ):
        payload = {"payment": PAY_LATER, **body}
        refused = await _open(market, admin, achievement["id"], **payload)
        assert refused.status_code == 422 and refused.json()["rule"] == "OWN-9", refused.text
    for size in ("micro", "medium"):
        allowed = await _open(market, admin, achievement["id"], kind="license", payment=PAY_LATER,
                              counterparty={**market.PRIVATE, "size": size})
        assert allowed.status_code == 201, allowed.text


async def test_an_unknown_technology_manager_is_refused_prc_12(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    unknown = await _open(market, admin, achievement["id"], technology_manager_ids=["tm-nobody"])
    assert unknown.status_code == 422 and unknown.json()["rule"] == "PRC-12"
    without = await _open(market, admin, achievement["id"], technology_manager_ids=[])
    assert without.status_code == 201 and without.json()["technology_manager_ids"] == []


async def test_technology_managers_are_validated_and_named_in_the_concluded_step_and_event_prc_12(market, clock, events) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    unknown = await _open(market, admin, achievement["id"], technology_manager_ids=["tm-nobody"])
    assert unknown.status_code == 422 and unknown.json()["rule"] == "PRC-12"
    manager = await market.ownership.technology_manager(unit["id"])
    partly_unknown = await _open(market, admin, achievement["id"], technology_manager_ids=[manager["id"], "tm-nobody"])
    assert partly_unknown.status_code == 422 and partly_unknown.json()["rule"] == "PRC-12"
    tx = await _cleared(market, clock, admin, achievement["id"], technology_manager_ids=[manager["id"]])
    assert tx["technology_manager_ids"] == [manager["id"]]
    assert (await _conclude(market, tx, admin)).status_code == 200
    concluded = [i for i in await market.record(tx["id"], admin) if i["step"] == "concluded"]
    assert concluded[0]["details"]["technology_manager_ids"] == [manager["id"]]
    data = (await events("pricing.deal.concluded", tx["id"]))[0]["data"]
    assert data["technology_manager_ids"] == [manager["id"]]


async def test_after_a_full_transfer_the_unit_opens_no_licence_own_16(market, clock) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    before = await _open(market, admin, achievement["id"], kind="license")
    assert before.status_code == 201  # the allowed edge: the unit still holds it
    transfer = await _cleared(market, clock, admin, achievement["id"], kind="transfer")
    assert (await _conclude(market, transfer, admin)).status_code == 200
    for kind in ("license", "transfer", "investment"):
        refused = await _open(market, admin, achievement["id"], kind=kind)
        assert refused.status_code == 409 and refused.json()["rule"] == "OWN-16", refused.text
    # The licence opened before the transfer concluded cannot conclude any more (PRC-11).
    notice = await market.notice(before.json(), admin)
    await clock(_at(notice["ends_at"]))
    late = await _conclude(market, before.json(), admin)
    assert late.status_code == 409 and late.json()["rule"] == "PRC-11"


async def test_an_exclusive_licence_in_force_refuses_an_ordinary_one_until_it_expires_own_16(market, clock) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    exclusive = await _cleared(market, clock, admin, achievement["id"], kind="license",
                               licence={"scope": "exclusive", "start_on": "2033-04-01", "end_on": "2035-03-31"})
    assert (await _conclude(market, exclusive, admin)).status_code == 200
    overlapping = await _open(market, admin, achievement["id"], kind="license",
                              licence={"scope": "ordinary", "start_on": "2035-03-31"})
    assert overlapping.status_code == 409 and overlapping.json()["rule"] == "OWN-16"
    unbounded = await _open(market, admin, achievement["id"], kind="license")  # from today, never ending
    assert unbounded.status_code == 409 and unbounded.json()["rule"] == "OWN-16"
    after_expiry = await _open(market, admin, achievement["id"], kind="license",
                               licence={"scope": "ordinary", "start_on": "2035-04-01"})
    assert after_expiry.status_code == 201, after_expiry.text
    await clock(datetime(2035, 4, 1, 9, 0, tzinfo=CST))  # the exclusive licence has expired
    from_today = await _open(market, admin, achievement["id"], kind="license")
    assert from_today.status_code == 201, from_today.text


async def test_two_openings_at_once_leave_exactly_one_open_transfer_own_16(market) -> None:
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    responses = await asyncio.gather(*(_open(market, admin, achievement["id"], kind=kind)
                                       for kind in ("transfer", "investment", "transfer")))
    assert sorted(r.status_code for r in responses) == [201, 409, 409], [r.text for r in responses]
    assert {r.json()["rule"] for r in responses if r.status_code == 409} == {"OWN-16"}
    exclusive = {"scope": "exclusive"}
    licences = await asyncio.gather(*(_open(market, admin, achievement["id"], kind="license", licence=exclusive) for _ in range(3)))
    assert sorted(r.status_code for r in licences) == [201, 409, 409]


async def test_two_conclusions_at_once_never_let_a_licence_follow_the_transfer_prc_11(market, clock, events) -> None:
    """A transfer and a licence of one achievement concluded at the same moment: the licence may only
    precede the transfer; whichever order the guard admits them in, no licence deal follows the transfer's."""
    await clock(T0)
    unit, admin = await market.unit()
    for _ in range(3):
        achievement = await market.ownership.add(unit["id"])
        transfer = (await _open(market, admin, achievement["id"], kind="transfer")).json()
        licence = (await _open(market, admin, achievement["id"], kind="license")).json()
        notices = [await market.notice(tx, admin) for tx in (transfer, licence)]
        await clock(max(_at(n["ends_at"]) for n in notices))
        first, second = await asyncio.gather(_conclude(market, transfer, admin), _conclude(market, licence, admin))
        assert first.status_code == 200, first.text
        assert second.status_code in (200, 409), second.text
        order = [e["subject"] for e in await events("pricing.deal.concluded") if e["subject"] in (transfer["id"], licence["id"])]
        if second.status_code == 409:
            assert second.json()["rule"] == "PRC-11" and order == [transfer["id"]]
        else:
            assert order == [licence["id"], transfer["id"]]


async def test_the_same_conclusion_twice_at_once_succeeds_once(market, clock, events) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    tx = await _cleared(market, clock, admin, achievement["id"])
    responses = await asyncio.gather(_conclude(market, tx, admin), _conclude(market, tx, admin))
    assert sorted(r.status_code for r in responses) == [200, 409]
    assert len(await events("pricing.deal.concluded", tx["id"])) == 1


async def test_an_auction_whose_achievement_was_transferred_meanwhile_closes_without_a_deal_prc_11(market, clock, events) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    auction_tx = (await market.open(admin, achievement["id"], kind="license", method="auction", appraisal=market.APPRAISED)).json()
    closes_at = T0 + timedelta(days=20)
    auction = (await market.client.post(f"{market.T}/{auction_tx['id']}/auction",
                                        json={"reserve_price": "100000.00", "closes_at": closes_at.isoformat()}, headers=admin)).json()
    bid = await market.client.post(f"/api/v1/auctions/{auction['id']}/bids",
                                   json={"party": market.PRIVATE, "amount": "150000.00"}, headers=market.system.auth("enterprise"))
    assert bid.status_code == 201, bid.text
    transfer = await _cleared(market, clock, admin, achievement["id"], kind="transfer")
    assert (await _conclude(market, transfer, admin)).status_code == 200
    await clock(closes_at)

    async def closed() -> bool:
        return (await market.client.get(f"/api/v1/auctions/{auction['id']}")).json()["state"] == "failed"

    await eventually(closed, timeout=5)
    assert (await market.get(auction_tx["id"], admin))["state"] == "auction_failed"
    closing = [i for i in await market.record(auction_tx["id"], admin) if i["step"] == "auction_closed"][0]
    assert closing["details"]["refused"]["rule"] == "PRC-11"
    assert await events("pricing.deal.concluded", auction_tx["id"]) == []
