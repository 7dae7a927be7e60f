"""PRC-7 exactly one winner under concurrency; PRC-8 auctions; time-driven transitions with two sweepers at once."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from pricing.deals import prepare_sweep, sweep
from servicekit.testing import eventually

CST = timezone(timedelta(hours=8))
T0 = datetime(2031, 5, 10, 10, 0, tzinfo=CST)


async def _listed(market):
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    tx = (await market.open(admin, achievement["id"], method="listing", appraisal=market.APPRAISED)).json()
    response = await market.client.post(f"{market.T}/{tx['id']}/listing", json={"exchange": "辽宁技术交易市场", "price": "800000.00"},
                                        headers=admin)
    assert response.status_code == 201, response.text
    return tx, admin, response.json()


async def test_twenty_concurrent_delistings_have_exactly_one_winner(market, events) -> None:
    tx, admin, listing = await _listed(market)
    parties = [{**market.PRIVATE, "name": f"企业{i}", "credit_code": f"9121000000000{i:05d}"} for i in range(20)]
    responses = await asyncio.gather(*[
        market.client.post(f"/api/v1/listings/{listing['id']}/delistings", json={"party": party},
                           headers=market.system.auth("enterprise"))
        for party in parties
    ])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["rule"] for r in responses if r.status_code == 409} == {"PRC-7"}
    winner = next(r.json() for r in responses if r.status_code == 201)
    deal = (await market.get(tx["id"], admin))["deal"]
    assert deal["counterparty"] == winner["party"] and deal["price"] == "800000.00"
    assert len(await events("pricing.deal.concluded", tx["id"])) == 1
    steps = [item["step"] for item in await market.record(tx["id"], admin)]
    assert steps.count("delisted") == 1 and steps.count("concluded") == 1


async def _auction(market, closes_at: datetime, reserve: str = "100000.00"):
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    tx = (await market.open(admin, achievement["id"], method="auction", kind="license", appraisal=market.APPRAISED)).json()
    response = await market.client.post(f"{market.T}/{tx['id']}/auction",
                                        json={"reserve_price": reserve, "closes_at": closes_at.isoformat()}, headers=admin)
    assert response.status_code == 201, response.text
    return tx, admin, response.json()


async def _bid(market, auction_id: str, amount: str, name: str):
    party = {**market.PRIVATE, "name": name, "credit_code": f"CC-{name}"}
    return await market.client.post(f"/api/v1/auctions/{auction_id}/bids", json={"party": party, "amount": amount},
                                     headers=market.system.auth("enterprise"))


async def test_auction_takes_bids_until_close_and_the_highest_at_or_above_reserve_wins(market, clock, events) -> None:
    await clock(T0)
    closes_at = T0 + timedelta(days=3)
    tx, admin, auction = await _auction(market, closes_at)
    assert (await _bid(market, auction["id"], "90000.00", "甲")).status_code == 201  # below reserve: recorded, not valid
    assert (await _bid(market, auction["id"], "120000.00", "乙")).status_code == 201
    await clock(closes_at - timedelta(seconds=1))
    assert (await _bid(market, auction["id"], "100000.00", "丙")).status_code == 201
    await clock(closes_at)
    late = await _bid(market, auction["id"], "999999.00", "丁")
    assert late.status_code == 409 and late.json()["rule"] == "PRC-8"
    read = await market.get(tx["id"], admin)
    assert read["state"] == "concluded"
    assert read["deal"]["basis"] == "auction" and read["deal"]["price"] == "120000.00"
    assert read["deal"]["counterparty"]["name"] == "乙"

    async def announced() -> list:  # the read showed the deal; the sweeper persists and announces it
        return await events("pricing.deal.concluded", tx["id"])

    data = (await eventually(announced, timeout=10))[0]["data"]
    assert data["kind"] == "license" and data["price"] == "120000.00" and data["basis"] == "auction"


async def test_auction_with_no_bid_at_reserve_fails_without_a_deal(market, clock, events) -> None:
    await clock(T0)
    closes_at = T0 + timedelta(hours=1)
    tx, admin, auction = await _auction(market, closes_at, reserve="100000.00")
    assert (await _bid(market, auction["id"], "99999.99", "甲")).status_code == 201
    await clock(closes_at)
    read = await market.get(tx["id"], admin)
    assert read["state"] == "auction_failed" and read["deal"] is None
    assert await events("pricing.deal.concluded", tx["id"]) == []


async def test_auction_closing_in_the_past_is_refused(market, clock) -> None:
    await clock(T0)
    unit, admin = await market.unit()
    achievement = await market.ownership.add(unit["id"])
    tx = (await market.open(admin, achievement["id"], method="auction", appraisal=market.APPRAISED)).json()
    response = await market.client.post(f"{market.T}/{tx['id']}/auction",
                                        json={"reserve_price": "1.00", "closes_at": T0.isoformat()}, headers=admin)
    assert response.status_code == 422 and response.json()["rule"] == "PRC-8"


async def test_sweeper_closes_an_auction_within_five_seconds(market, clock, events) -> None:
    await clock(T0)
    closes_at = T0 + timedelta(minutes=5)
    tx, admin, auction = await _auction(market, closes_at)
    assert (await _bid(market, auction["id"], "150000.00", "甲")).status_code == 201
    await clock(closes_at)

    async def concluded() -> bool:  # the public auction read applies nothing: only the sweeper can
        return (await market.client.get(f"/api/v1/auctions/{auction['id']}")).json()["state"] == "won"

    await eventually(concluded, timeout=5)
    assert len(await events("pricing.deal.concluded", tx["id"])) == 1


async def test_two_concurrent_sweeper_passes_conclude_an_expired_auction_once(system, market, clock, events) -> None:
    await clock(T0)
    closes_at = T0 + timedelta(days=400)  # far beyond the other tests' clocks, so the background sweeper keeps off
    tx, admin, auction = await _auction(market, closes_at)
    assert (await _bid(market, auction["id"], "150000.00", "甲")).status_code == 201
    runtime = system.runtime("pricing")
    later = closes_at + timedelta(seconds=1)  # the sweep function's `now`, without moving the shared clock

    async def one_pass() -> None:
        rights = await prepare_sweep(runtime, later)  # the rights lookups, before the transaction (PRC-11)
        async with runtime.sessions() as session:
            async with session.begin():
                await sweep(session, later, rights)

    await asyncio.gather(one_pass(), one_pass())
    assert len(await events("pricing.deal.concluded", tx["id"])) == 1
    steps = [item["step"] for item in await market.record(tx["id"], admin)]
    assert steps.count("auction_closed") == 1 and steps.count("concluded") == 1
