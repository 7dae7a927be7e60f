"""The pay-later pool (OWN-10): membership at its edges, exclusions, numbered immutable publications."""
from __future__ import annotations

import asyncio
from datetime import datetime

from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem


async def pool_ids(unit) -> list[str]:
    response = await unit.client.get(f"/api/v1/units/{unit.id}/pool?limit=200")  # public: no token
    assert response.status_code == 200, response.text
    return [item["achievement_id"] for item in response.json()["items"]]


async def test_own_10_granted_exactly_three_years_ago_is_in_the_pool_one_day_later_is_not(
    system: InProcessSystem, unit, clock
) -> None:
    # 00:30 in Shanghai is still the previous day in UTC: the pool counts Shanghai days.
    await clock(datetime(2030, 6, 15, 0, 30, tzinfo=SHANGHAI))
    exactly = await unit.achievement(granted_on="2027-06-15")
    one_day_short = await unit.achievement(granted_on="2027-06-16")
    no_ip_right = await unit.achievement(granted_on=None)
    assert exactly["in_pool"] is True and one_day_short["in_pool"] is False
    members = await pool_ids(unit)
    assert exactly["id"] in members and one_day_short["id"] not in members and no_ip_right["id"] not in members
    [item] = [i for i in (await unit.client.get(f"/api/v1/units/{unit.id}/pool")).json()["items"] if i["achievement_id"] == exactly["id"]]
    assert item["held_since"] == "2027-06-15" and item["title"] == exactly["title"] and item["ip_rights"] == exactly["ip_rights"]
    # Time passing brings the younger one in, on read, without any write.
    await clock(datetime(2030, 6, 16, 0, 30, tzinfo=SHANGHAI))
    assert one_day_short["id"] in await pool_ids(unit)


async def test_own_10_exclusion_needs_a_reason_and_delete_restores(system: InProcessSystem, unit) -> None:
    a = await unit.achievement(granted_on="2019-01-01")
    url = f"/api/v1/achievements/{a['id']}/pool-exclusion"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = await unit.client.put(url, json=body, headers=unit.admin)
        assert response.status_code == 422 and response.json()["rule"] == "OWN-10"
    excluded = await unit.client.put(url, json={"reason": "已与企业签订独占许可意向书"}, headers=unit.admin)
    assert excluded.status_code == 200
    assert excluded.json()["in_pool"] is False and excluded.json()["pool_exclusion_reason"] == "已与企业签订独占许可意向书"
    assert a["id"] not in await pool_ids(unit)
    restored = await unit.client.delete(url, headers=unit.admin)
    assert restored.status_code == 200 and restored.json()["in_pool"] is True
    assert a["id"] in await pool_ids(unit)


async def test_own_10_transformed_achievement_leaves_the_pool(system: InProcessSystem, unit, nats_url) -> None:
    a = await unit.achievement(granted_on="2019-01-01")
    assert a["id"] in await pool_ids(unit)
    await unit.conclude(nats_url, a["id"], payment={"mode": "pay_later", "due_on": "2031-01-01", "conditions": "投产后"})
    assert a["id"] not in await pool_ids(unit)


async def test_own_10_publications_are_numbered_per_unit_and_never_change(system: InProcessSystem, unit, other_unit, outbox, nats_url) -> None:
    first, second = await unit.achievement(granted_on="2019-01-01"), await unit.achievement(granted_on="2018-01-01")
    url = f"/api/v1/units/{unit.id}/pool/publications"
    published = await unit.client.post(url, headers=unit.admin)
    assert published.status_code == 201, published.text
    one = published.json()
    assert one["number"] == 1 and sorted(i["achievement_id"] for i in one["items"]) == sorted([first["id"], second["id"]])
    [event] = [e for e in await outbox("ownership.pool.published") if e["data"]["unit_id"] == unit.id]
    assert event["data"]["number"] == 1 and event["data"]["item_count"] == 2
    # Change the pool: one member transformed, the other excluded.
    await unit.conclude(nats_url, first["id"], kind="transfer")
    await unit.client.put(f"/api/v1/achievements/{second['id']}/pool-exclusion", json={"reason": "涉及在研项目"}, headers=unit.admin)
    assert (await unit.client.get(f"{url}/1")).json() == one  # public, and exactly as published
    two = (await unit.client.post(url, headers=unit.admin)).json()
    assert two["number"] == 2 and two["items"] == []
    assert (await other_unit.client.post(f"/api/v1/units/{other_unit.id}/pool/publications", headers=other_unit.admin)).json()["number"] == 1
    assert (await unit.client.get(f"{url}/3")).status_code == 404
    assert (await unit.client.get(f"{url}/0")).status_code == 422
    assert (await unit.client.post(url)).status_code == 401


async def test_own_10_concurrent_publications_get_distinct_consecutive_numbers(system: InProcessSystem, unit) -> None:
    await unit.achievement(granted_on="2019-01-01")
    url = f"/api/v1/units/{unit.id}/pool/publications"
    responses = await asyncio.gather(*[unit.client.post(url, headers=unit.admin) for _ in range(8)])
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert sorted(r.json()["number"] for r in responses) == list(range(1, 9))


async def test_pool_of_an_unknown_unit_is_404(system: InProcessSystem) -> None:
    client = system.clients["ownership"]
    assert (await client.get("/api/v1/units/no-such-unit/pool")).status_code == 404
    assert (await client.get("/api/v1/units/no-such-unit/pool/publications/1")).status_code == 404
