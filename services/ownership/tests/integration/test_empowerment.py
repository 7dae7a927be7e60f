"""Empowerment through HTTP: OWN-1 … OWN-6 at their edges."""
from __future__ import annotations

from datetime import date, datetime

from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem, eventually

NOW = datetime(2030, 3, 1, 10, 0, tzinfo=SHANGHAI)


async def test_ownership_empowerment_with_shares_adding_to_100_is_granted(system: InProcessSystem, unit, outbox, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    response = await unit.empower(a["id"], team_share="70.00", unit_share="30.00")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["type"] == "ownership" and body["state"] == "active"
    assert (body["team_share"], body["unit_share"]) == ("70.00", "30.00")
    assert body["patent_change"] == {"state": "pending", "due_on": "2030-05-30", "registered_on": None, "reference": None}
    assert body["decision"] == unit.decision
    [event] = await outbox("ownership.empowerment.granted", body["id"])
    assert event["data"]["team_share"] == "70.00" and event["data"]["achievement_id"] == a["id"]


async def test_own_1_shares_not_adding_to_100_or_zero_team_share_are_refused(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    for team, unit_share in (("60.00", "39.99"), ("0.00", "100.00"), ("100.01", "-0.01")):
        response = await unit.empower(a["id"], team_share=team, unit_share=unit_share)
        assert response.status_code == 422, response.text
        assert response.json()["rule"] == "OWN-1"
    response = await unit.empower(a["id"], team_share="0.01", unit_share="99.99")
    assert response.status_code == 201
    response = await unit.empower(a["id"], team_share=None, unit_share=None)
    assert response.json()["rule"] == "OWN-1"


async def test_own_2_usage_right_of_exactly_ten_years_is_granted_and_one_day_shorter_refused(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    refused = await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 2, 28))
    assert refused.status_code == 422 and refused.json()["rule"] == "OWN-2"
    granted = await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))
    assert granted.status_code == 201, granted.text
    assert granted.json()["type"] == "usage_right" and granted.json()["end_on"] == "2040-03-01"
    leap = await unit.usage_right(a["id"], date(2032, 2, 29), date(2042, 2, 28))
    assert leap.status_code == 201, leap.text
    missing = await unit.client.post(
        f"/api/v1/achievements/{a['id']}/empowerments",
        json={"type": "usage_right", "start_on": "2030-03-01", "decision": unit.decision},
        headers=unit.admin,
    )
    assert missing.status_code == 422 and missing.json()["rule"] == "OWN-2"


async def test_own_5_empowerment_without_a_complete_decision_is_refused(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    for decision in (None, {}, {**unit.decision, "reference": " "}, {"body": "党委会", "date": "2030-01-01"}):
        response = await unit.empower(a["id"], decision=decision)
        assert response.status_code == 422, response.text
        assert response.json()["rule"] == "OWN-5"
    response = await unit.client.post(
        f"/api/v1/achievements/{a['id']}/empowerments",
        json={"type": "ownership", "team_share": "70.00", "unit_share": "30.00"},
        headers=unit.admin,
    )
    assert response.status_code == 422 and response.json()["rule"] == "OWN-5"


async def test_own_6_due_on_counts_from_the_shanghai_day_and_uses_the_unit_policy(system: InProcessSystem, clock) -> None:
    unit_data = await system.register_unit(policy={"patent_change_days": 30})
    client = system.clients["ownership"]
    admin = system.auth("unit_admin", unit_data["id"])
    # 2030-03-01 23:30 UTC is already 2 March in Shanghai.
    await clock(datetime.fromisoformat("2030-03-01T23:30:00+00:00"))
    a = (await client.post(
        "/api/v1/achievements",
        json={"unit_id": unit_data["id"], "title": "t", "kind": "patent", "completers": [{"person_id": "p", "name": "n"}]},
        headers=admin,
    )).json()
    response = await client.post(
        f"/api/v1/achievements/{a['id']}/empowerments",
        json={"type": "ownership", "team_share": "50.00", "unit_share": "50.00", "decision": {"body": "b", "date": "2030-03-01", "reference": "r"}},
        headers=admin,
    )
    assert response.json()["recorded_on"] == "2030-03-02"
    assert response.json()["patent_change"]["due_on"] == "2030-04-01"


async def test_own_6_pending_on_due_day_overdue_the_day_after_by_read_and_by_sweeper(system: InProcessSystem, unit, outbox, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    e = (await unit.empower(a["id"])).json()
    assert e["patent_change"]["due_on"] == "2030-05-30"
    await clock(datetime(2030, 5, 30, 23, 59, tzinfo=SHANGHAI))
    on_due_day = await unit.client.get(f"/api/v1/empowerments/{e['id']}", headers=unit.researcher)
    assert on_due_day.json()["patent_change"]["state"] == "pending"
    await clock(datetime(2030, 5, 31, 0, 1, tzinfo=SHANGHAI))
    after = await unit.client.get(f"/api/v1/empowerments/{e['id']}", headers=unit.researcher)
    assert after.json()["patent_change"]["state"] == "overdue"  # on read, without waiting for the sweeper
    [overdue] = await eventually(lambda: outbox("ownership.patent_change.overdue", e["id"]), timeout=5)
    assert overdue["data"]["due_on"] == "2030-05-30"
    registered = await unit.client.post(
        f"/api/v1/empowerments/{e['id']}/patent-change",
        json={"registered_on": "2030-06-02", "reference": "CN2030-123"},
        headers=unit.admin,
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["patent_change"]["state"] == "registered"
    assert registered.json()["patent_change"]["reference"] == "CN2030-123"
    assert len(await outbox("ownership.patent_change.registered", e["id"])) == 1
    again = await unit.client.post(
        f"/api/v1/empowerments/{e['id']}/patent-change",
        json={"registered_on": "2030-06-03", "reference": "CN2030-124"},
        headers=unit.admin,
    )
    assert again.status_code == 409 and again.json()["rule"] == "OWN-6"


async def test_own_6_change_registered_in_time_never_becomes_overdue(system: InProcessSystem, unit, outbox, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    e = (await unit.empower(a["id"])).json()
    registered = await unit.client.post(
        f"/api/v1/empowerments/{e['id']}/patent-change",
        json={"registered_on": "2030-03-20", "reference": "CN2030-7"},
        headers={**unit.admin, "If-Match": '"1"'},
    )
    assert registered.status_code == 200 and registered.headers["etag"] == '"2"'
    await clock(datetime(2031, 1, 1, 12, 0, tzinfo=SHANGHAI))
    later = await unit.client.get(f"/api/v1/empowerments/{e['id']}", headers=unit.admin)
    assert later.json()["patent_change"]["state"] == "registered"
    assert await outbox("ownership.patent_change.overdue", e["id"]) == []


async def test_own_3_extension_to_a_later_end_during_or_after_the_term(system: InProcessSystem, unit, outbox, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    e = (await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))).json()
    url = f"/api/v1/empowerments/{e['id']}/extension"
    same = await unit.client.post(url, json={"new_end_on": "2040-03-01", "decision": unit.decision}, headers=unit.admin)
    assert same.status_code == 422 and same.json()["rule"] == "OWN-3"
    no_decision = await unit.client.post(url, json={"new_end_on": "2045-03-01"}, headers=unit.admin)
    assert no_decision.status_code == 422 and no_decision.json()["rule"] == "OWN-5"
    extended = await unit.client.post(url, json={"new_end_on": "2040-03-02", "decision": unit.decision}, headers=unit.admin)
    assert extended.status_code == 200 and extended.json()["end_on"] == "2040-03-02"
    [event] = await outbox("ownership.usage_right.extended", e["id"])
    assert event["data"]["end_on"] == "2040-03-02"
    # After the term ended the right is expired, and may still be extended.
    await clock(datetime(2041, 1, 1, 10, 0, tzinfo=SHANGHAI))
    expired = await unit.client.get(f"/api/v1/empowerments/{e['id']}", headers=unit.admin)
    assert expired.json()["state"] == "expired"
    revived = await unit.client.post(url, json={"new_end_on": "2050-01-01", "decision": unit.decision}, headers=unit.admin)
    assert revived.status_code == 200 and revived.json()["state"] == "active"


async def test_own_3_an_ownership_empowerment_cannot_be_extended(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    e = (await unit.empower(a["id"])).json()
    response = await unit.client.post(
        f"/api/v1/empowerments/{e['id']}/extension", json={"new_end_on": "2060-01-01", "decision": unit.decision}, headers=unit.admin
    )
    assert response.status_code == 409 and response.json()["rule"] == "OWN-3"


def consents() -> dict:
    return {"unit_consent": {"by": "校长办公会", "on": "2031-01-01"}, "team_consent": {"by": "张三团队", "on": "2031-01-02"}}


async def test_own_4_conversion_with_both_consents_during_the_term_makes_it_ownership(system: InProcessSystem, unit, outbox, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    e = (await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))).json()
    url = f"/api/v1/empowerments/{e['id']}/conversion"
    body = {"team_share": "80.00", "unit_share": "20.00", **consents()}
    for missing in ("unit_consent", "team_consent"):
        response = await unit.client.post(url, json={k: v for k, v in body.items() if k != missing}, headers=unit.admin)
        assert response.status_code == 422 and response.json()["rule"] == "OWN-4"
    blank = await unit.client.post(url, json={**body, "team_consent": {"by": " ", "on": "2031-01-01"}}, headers=unit.admin)
    assert blank.json()["rule"] == "OWN-4"
    bad_shares = await unit.client.post(url, json={**body, "unit_share": "30.00"}, headers=unit.admin)
    assert bad_shares.status_code == 422 and bad_shares.json()["rule"] == "OWN-1"
    # The last day of the term is still during the term.
    await clock(datetime(2040, 3, 1, 23, 0, tzinfo=SHANGHAI))
    converted = await unit.client.post(url, json=body, headers=unit.admin)
    assert converted.status_code == 200, converted.text
    assert converted.json()["type"] == "ownership"
    assert (converted.json()["team_share"], converted.json()["unit_share"]) == ("80.00", "20.00")
    assert converted.json()["conversion"]["team_consent"]["by"] == "张三团队"
    assert len(await outbox("ownership.usage_right.converted", e["id"])) == 1
    again = await unit.client.post(url, json=body, headers=unit.admin)
    assert again.status_code == 409 and again.json()["rule"] == "OWN-4"


async def test_own_4_conversion_after_the_term_ended_is_refused(system: InProcessSystem, unit, clock) -> None:
    await clock(NOW)
    a = await unit.achievement()
    e = (await unit.usage_right(a["id"], date(2030, 3, 1), date(2040, 3, 1))).json()
    await clock(datetime(2040, 3, 2, 0, 30, tzinfo=SHANGHAI))
    response = await unit.client.post(
        f"/api/v1/empowerments/{e['id']}/conversion", json={"team_share": "80.00", "unit_share": "20.00", **consents()}, headers=unit.admin
    )
    assert response.status_code == 409 and response.json()["rule"] == "OWN-4"


async def test_empowerments_are_listed_for_the_achievement(system: InProcessSystem, unit) -> None:
    a = await unit.achievement()
    first = (await unit.empower(a["id"])).json()
    second = (await unit.usage_right(a["id"], date(2030, 1, 1), date(2041, 1, 1))).json()
    page = await unit.client.get(f"/api/v1/achievements/{a['id']}/empowerments?limit=1", headers=unit.researcher)
    assert page.status_code == 200 and len(page.json()["items"]) == 1
    rest = await unit.client.get(
        f"/api/v1/achievements/{a['id']}/empowerments?limit=1&cursor={page.json()['next_cursor']}", headers=unit.researcher
    )
    assert {page.json()["items"][0]["id"], rest.json()["items"][0]["id"]} == {first["id"], second["id"]}
    assert rest.json()["next_cursor"] is None
