"""Several subjects (EXE-12): persons, a team and the unit, each answering on its own; recusal over all of them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicekit.testing import InProcessSystem

from .cases import CASES, HELD_ON, pid


def problem(response, status: int, rule: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.json().get("rule") == rule, response.text


async def _open(system: InProcessSystem, unit_id: str, admin_id: str, subjects: list[dict], clauses: list[str]):
    body = {"unit_id": unit_id, "subjects": subjects, "matter": {"summary": "作价投资后企业经营不善"}, "claimed_clauses": clauses}
    return await system.clients["exemption"].post(CASES, json=body, headers=system.auth("unit_admin", unit_id, sub=admin_id))


async def test_a_case_about_a_leader_a_team_and_the_unit_closes_once_each_has_answered(system: InProcessSystem, clock) -> None:
    await clock(datetime(2031, 6, 1, 9, 0, tzinfo=UTC))
    unit = (await system.register_unit())["id"]
    client = system.clients["exemption"]
    admin_id, leader, member_a, member_b, panel_member = pid("admin"), pid("leader"), pid("ma"), pid("mb"), pid("panel")
    admin = system.auth("unit_admin", unit, sub=admin_id)
    subjects = [
        {"kind": "person", "person_id": leader, "name": "王校长", "role": "leader", "leader_rank": "deputy"},
        {"kind": "team", "name": "催化剂课题组", "members": [{"person_id": member_a, "name": "甲"}, {"person_id": member_b, "name": "乙"}]},
        {"kind": "unit", "name": "大连理工大学"},
    ]
    response = await _open(system, unit, admin_id, subjects, ["G5.5", "G6"])
    assert response.status_code == 201, response.text
    case = response.json()
    assert [(s["id"], s["kind"]) for s in case["subjects"]] == [("s1", "person"), ("s2", "team"), ("s3", "unit")]
    assert case["subject"]["person_id"] == leader
    url = f"{CASES}/{case['id']}"

    # EXE-6 over every person who is a subject, team members included
    member_panel = {"mode": "working_group", "members": [{"person_id": member_b, "name": "乙"}]}
    problem(await client.put(f"{url}/panel", json=member_panel, headers=admin), 422, "EXE-6")
    ok = await client.put(f"{url}/panel", json={"mode": "working_group", "members": [{"person_id": panel_member, "name": "丙"}]}, headers=admin)
    assert ok.status_code == 200, ok.text
    assert (await client.get(url, headers=system.auth("researcher", unit, sub=member_a))).status_code == 200
    await client.post(f"{url}/evidence", json={"kind": "record", "title": "股权台账", "reference": "L-1"}, headers=admin)
    problem(await client.post(f"{url}/statements", json={"heard_on": HELD_ON, "summary": "陈述"}, headers=admin), 422, "EXE-12")
    decision = {"meeting": {"body": "党委会", "held_on": HELD_ON, "attendees": [admin_id, pid(), pid()]},
                "conclusion": "meets", "clauses": ["G5.5", "G6"], "reasoning": "依据第五条、第六条"}
    for subject_id in ("s1", "s2"):
        heard = await client.post(f"{url}/statements", json={"subject_id": subject_id, "heard_on": HELD_ON, "summary": "陈述"}, headers=admin)
        assert heard.status_code == 201, heard.text
    problem(await client.post(f"{url}/decision", json=decision, headers=admin), 422, "EXE-5")  # the unit not heard yet
    await client.post(f"{url}/statements", json={"subject_id": "s3", "refused": True, "documented_on": HELD_ON}, headers=admin)
    attended = {**decision, "meeting": {**decision["meeting"], "attendees": [admin_id, pid(), member_a]}}
    problem(await client.post(f"{url}/decision", json=attended, headers=admin), 422, "EXE-6")
    decided = await client.post(f"{url}/decision", json=decision, headers=admin)
    assert decided.status_code == 200, decided.text
    assert all(s["answer"] == "awaiting" for s in decided.json()["subjects"])

    # each subject answers on its own: the leader by their own token, the team and the unit by the unit_admin
    leader_token = system.auth("researcher", unit, sub=leader)
    assert (await client.post(f"{url}/confirmation", json={"subject_id": "s2"}, headers=leader_token)).status_code == 403
    problem(await client.post(f"{url}/confirmation", json={}, headers=admin), 422, "EXE-12")  # admin answers for two
    problem(await client.post(f"{url}/confirmation", json={"subject_id": "s9"}, headers=admin), 422, "EXE-12")
    confirmed = await client.post(f"{url}/confirmation", json={}, headers=leader_token)
    assert confirmed.status_code == 200, confirmed.text
    team = await client.post(f"{url}/confirmation", json={"subject_id": "s2"}, headers=admin)
    assert team.json()["state"] == "awaiting_confirmation"
    assert [s["answer"] for s in team.json()["subjects"]] == ["confirmed", "confirmed", "awaiting"]
    # the unit lets its window pass: the case closes then
    unit_deadline = datetime.fromisoformat(team.json()["subjects"][2]["review_deadline"])
    assert unit_deadline == datetime.fromisoformat(decided.json()["decisions"][0]["decided_at"]).replace(microsecond=0) + timedelta(days=15)
    await clock(unit_deadline + timedelta(seconds=1))
    closed = (await client.get(url, headers=admin)).json()
    assert (closed["state"], closed["closed"], closed["closed_reason"]) == ("closed", True, "review_window_expired")
    assert [s["answer"] for s in closed["subjects"]] == ["confirmed", "confirmed", "window_expired"]


async def test_the_unit_alone_can_be_the_subject_and_requests_its_review_through_the_unit_admin(system: InProcessSystem, clock) -> None:
    await clock(datetime(2031, 7, 1, 9, 0, tzinfo=UTC))
    unit = (await system.register_unit())["id"]
    client = system.clients["exemption"]
    admin_id = pid("admin")
    admin = system.auth("unit_admin", unit, sub=admin_id)
    response = await _open(system, unit, admin_id, [{"kind": "unit", "name": "东北大学"}], ["G5.8"])
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["subject"] is None and case["subjects"][0]["kind"] == "unit"
    url = f"{CASES}/{case['id']}"
    await client.put(f"{url}/panel", json={"mode": "third_party", "members": [], "third_party": {"name": "辽宁某律师事务所"}}, headers=admin)
    await client.post(f"{url}/evidence", json={"kind": "document", "title": "市场报告", "reference": "M-1"}, headers=admin)
    await client.post(f"{url}/statements", json={"heard_on": HELD_ON, "summary": "单位说明"}, headers=admin)
    decision = {"meeting": {"body": "校长办公会", "held_on": HELD_ON, "attendees": [admin_id, pid(), pid()]},
                "conclusion": "does_not_meet", "clauses": ["G5.8"], "reasoning": "不符合"}
    assert (await client.post(f"{url}/decision", json=decision, headers=admin)).status_code == 200
    requested = await client.post(f"{url}/review-requests", json={"grounds": "市场变化所致"}, headers=admin)
    assert requested.status_code == 201, requested.text
    assert requested.json()["reviews"][0]["subject_id"] == "s1"


async def test_malformed_subjects_are_refused_with_exe_12(system: InProcessSystem) -> None:
    unit = (await system.register_unit())["id"]
    admin_id = pid("admin")
    person = {"kind": "person", "person_id": "p1", "name": "甲", "role": "manager"}
    for subjects in (
        [],
        [{"kind": "committee", "name": "x"}],
        [{"kind": "team", "name": "组", "members": []}],
        [{"kind": "unit", "name": "单位", "person_id": "p2"}],
        [person, {"kind": "team", "name": "组", "members": [{"person_id": "p1", "name": "甲"}]}],
        [{"kind": "unit", "name": "a"}, {"kind": "unit", "name": "b"}],
    ):
        problem(await _open(system, unit, admin_id, subjects, ["G5.1"]), 422, "EXE-12")
    both = {"unit_id": unit, "subject": {"person_id": "p3", "name": "乙", "role": "manager"}, "subjects": [person],
            "matter": {"summary": "s"}, "claimed_clauses": ["G5.1"]}
    response = await system.clients["exemption"].post(CASES, json=both, headers=system.auth("unit_admin", unit, sub=admin_id))
    problem(response, 422, "EXE-12")
