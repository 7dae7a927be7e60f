"""The determination procedure through HTTP, each rule at its edges (EXE-3 … EXE-10)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from exemption.models import ExemptionCase
from servicekit.testing import InProcessSystem, eventually

from .cases import HELD_ON, open_case, pid


def problem(response, status: int, rule: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.json().get("rule") == rule, response.text


async def test_case_walks_from_opening_to_confirmation(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    decided = await case.decide("meets")
    assert decided["state"] == "awaiting_confirmation"
    assert decided["conclusion"] == "meets"
    closed = await case.ok("/confirmation", {}, headers=case.subject)
    assert closed["state"] == "closed"
    assert closed["closed_reason"] == "confirmed"
    assert [h["action"] for h in closed["history"]] == [
        "open", "set_panel", "add_evidence", "record_statement", "decide", "confirm", "close"  # closing: every subject answered (EXE-12)
    ]


@pytest.mark.parametrize(
    ("panel", "rule"),
    [
        ({"mode": "committee", "members": [{"person_id": "a", "name": "a"}]}, "EXE-4"),
        ({"mode": "working_group", "members": []}, "EXE-4"),
        ({"mode": "third_party", "members": []}, "EXE-4"),
        ({"mode": "third_party", "members": [], "third_party": {"name": "  "}}, "EXE-4"),
    ],
)
async def test_panel_without_working_group_or_named_third_party_is_refused(system: InProcessSystem, panel: dict, rule: str) -> None:
    case = await open_case(system)
    problem(await case.client.put(case.url("/panel"), json=panel, headers=case.admin), 422, rule)


async def test_named_third_party_is_a_valid_panel(system: InProcessSystem) -> None:
    case = await open_case(system)
    result = await case.panel(mode="third_party", members=[], third_party={"name": "辽宁某会计师事务所", "contact": {"person_id": pid(), "name": "赵"}})
    assert result["panel"]["mode"] == "third_party"
    assert result["panel"]["third_party"]["name"] == "辽宁某会计师事务所"


async def test_subject_may_not_sit_on_the_panel_or_be_the_third_partys_contact(system: InProcessSystem) -> None:
    case = await open_case(system)
    me = {"person_id": case.subject_id, "name": "张三"}
    problem(await case.client.put(case.url("/panel"), json={"mode": "working_group", "members": [me]}, headers=case.admin), 422, "EXE-6")
    as_contact = {"mode": "third_party", "members": [], "third_party": {"name": "所", "contact": me}}
    problem(await case.client.put(case.url("/panel"), json=as_contact, headers=case.admin), 422, "EXE-6")


async def test_subject_may_not_do_determination_work_even_as_unit_admin(system: InProcessSystem) -> None:
    case = await open_case(system)
    subject_as_admin = system.auth("unit_admin", case.unit_id, sub=case.subject_id)
    problem(await case.post("/evidence", {"kind": "document", "title": "t", "reference": "r"}, subject_as_admin), 422, "EXE-6")
    problem(await case.post("/evidence", {"kind": "document", "title": "t", "reference": "r"}, case.subject), 422, "EXE-6")


async def test_panel_member_records_evidence_and_statement_but_not_the_decision(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.panel()
    await case.ok("/evidence", {"kind": "testimony", "title": "证言", "reference": "T-1"}, case.member)
    await case.ok("/statements", {"refused": True, "documented_on": HELD_ON}, case.member)
    assert (await case.post("/decision", case.decision(), case.member)).status_code == 403


async def test_decision_needs_panel_then_evidence_then_statement(system: InProcessSystem) -> None:
    """Missing prerequisites are missing input: 422 EXE-5 (second revision; was 409)."""
    case = await open_case(system)
    problem(await case.post("/decision", case.decision()), 422, "EXE-5")
    await case.panel()
    problem(await case.post("/decision", case.decision()), 422, "EXE-5")
    await case.ok("/evidence", {"kind": "document", "title": "合同", "reference": "C-1"})
    response = await case.post("/decision", case.decision(), {**case.admin, "Accept-Language": "en"})
    problem(response, 422, "EXE-5")
    assert "statement" in response.json()["detail"]
    await case.ok("/statements", {"refused": True, "documented_on": HELD_ON})
    assert (await case.decide())["state"] == "awaiting_confirmation"


@pytest.mark.parametrize(
    "statement",
    [{"refused": True}, {"heard_on": HELD_ON}, {"summary": "陈述"}, {}, {"heard_on": "2999-01-01", "summary": "未来"}],
)
async def test_statement_without_hearing_or_documented_refusal_is_refused(system: InProcessSystem, statement: dict) -> None:
    case = await open_case(system)
    problem(await case.post("/statements", statement), 422, "EXE-5")


@pytest.mark.parametrize(
    "meeting",
    [None, {"held_on": HELD_ON, "attendees": ["x"]}, {"body": "党委会", "attendees": ["x"]},
     {"body": "党委会", "held_on": HELD_ON, "attendees": []}, {"body": "党委会", "held_on": "2999-01-01", "attendees": ["x"]}],
)
async def test_decision_without_a_collective_meeting_is_refused(system: InProcessSystem, meeting: dict | None) -> None:
    case = await open_case(system)
    await case.prepare()
    problem(await case.post("/decision", case.decision(meeting=meeting)), 422, "EXE-5")


async def test_subject_attending_the_decision_meeting_is_refused(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    meeting = {"body": "校长办公会", "held_on": HELD_ON, "attendees": [case.admin_id, case.subject_id]}
    problem(await case.post("/decision", case.decision(meeting=meeting)), 422, "EXE-6")


async def test_basically_meets_needs_at_least_one_improvement(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    problem(await case.post("/decision", case.decision("basically_meets", improvements=[])), 422, "EXE-7")
    problem(await case.post("/decision", case.decision("basically_meets", improvements=["  "])), 422, "EXE-7")
    problem(await case.post("/decision", case.decision("exempt")), 422, "EXE-7")
    decided = await case.decide("basically_meets", improvements=["补充风险评估"])
    assert decided["decisions"][0]["improvements"] == ["补充风险评估"]


async def test_decision_clause_must_fit_the_subject(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    problem(await case.post("/decision", case.decision(clauses=["G6"])), 422, "EXE-1")
    problem(await case.post("/decision", case.decision(clauses=[])), 422, "EXE-1")


async def test_confirmed_negative_finding_allows_only_does_not_meet(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    await case.ok("/negative-findings", {"clause": "G7.4", "finding": "收受礼金"})
    assessment = (await case.client.get(case.url("/assessment"), headers=case.admin)).json()
    assert assessment["allowed_conclusions"] == ["does_not_meet"]
    assert [f["clause"] for f in assessment["negative_findings"]] == ["G7.4"]
    problem(await case.post("/decision", case.decision("meets")), 422, "EXE-3")
    problem(await case.post("/decision", case.decision("basically_meets")), 422, "EXE-3")
    assert (await case.decide("does_not_meet", clauses=["G7.4"]))["conclusion"] == "does_not_meet"


@pytest.mark.parametrize(("role", "clause"), [("leader", "G7.3"), ("researcher", "G7.2"), ("leader", "G7.6"), ("leader", "G5.3")])
async def test_negative_finding_outside_the_list_or_the_role_is_refused(system: InProcessSystem, role: str, clause: str) -> None:
    case = await open_case(system, role=role)
    problem(await case.post("/negative-findings", {"clause": clause, "finding": "f"}), 422, "EXE-3")


async def test_negative_finding_for_the_role_is_recorded(system: InProcessSystem) -> None:
    case = await open_case(system, role="researcher")
    result = await case.ok("/negative-findings", {"clause": "G7.3", "finding": "未经允许创办企业"}, status=201)
    assert result["negative_findings"][0]["clause"] == "G7.3"


async def _decided_at(system: InProcessSystem, clock, instant: datetime, **policy) -> object:
    unit = await system.register_unit(**({"policy": policy} if policy else {}))
    await clock(instant)
    case = await open_case(system, unit["id"])
    await case.prepare()
    decided = await case.decide()
    return case, datetime.fromisoformat(decided["review_deadline"])


async def test_review_request_in_the_last_second_of_the_window_is_accepted(system: InProcessSystem, clock) -> None:
    start = datetime(2030, 3, 1, 9, 30, 15, tzinfo=UTC)
    case, deadline = await _decided_at(system, clock, start)
    decided_at = datetime.fromisoformat((await case.get())["decisions"][0]["decided_at"])
    assert deadline == decided_at.replace(microsecond=0) + timedelta(days=15)  # 15 × 24 h (the clock runs on after `start`)
    await clock(deadline)
    result = await case.ok("/review-requests", {"grounds": "损失非本人决策所致"}, case.subject, status=201)
    assert result["state"] == "under_review"


async def test_review_request_one_second_after_the_window_is_refused(system: InProcessSystem, clock) -> None:
    case, deadline = await _decided_at(system, clock, datetime(2030, 4, 1, 9, 0, tzinfo=UTC))
    await clock(deadline + timedelta(seconds=1))
    problem(await case.post("/review-requests", {"grounds": "迟到"}, case.subject), 422, "EXE-8")
    problem(await case.post("/confirmation", {}, case.subject), 409, "EXE-8")


async def test_review_window_follows_the_units_review_request_days(system: InProcessSystem, clock) -> None:
    start = datetime(2030, 5, 1, 0, 0, tzinfo=UTC)
    case, deadline = await _decided_at(system, clock, start, review_request_days=20)
    decided_at = datetime.fromisoformat((await case.get())["decisions"][0]["decided_at"])
    assert deadline == decided_at.replace(microsecond=0) + timedelta(days=20)
    await clock(deadline)
    assert (await case.post("/review-requests", {"grounds": "异议"}, case.subject)).status_code == 201


async def test_expired_window_closes_the_case_on_read_and_by_the_sweeper(system: InProcessSystem, clock) -> None:
    read_case, deadline = await _decided_at(system, clock, datetime(2030, 6, 1, 8, 0, tzinfo=UTC))
    swept_case, swept_deadline = await _decided_at(system, clock, datetime(2030, 6, 1, 8, 0, tzinfo=UTC))
    await clock(max(deadline, swept_deadline) + timedelta(seconds=2))
    read = await read_case.get()
    assert (read["state"], read["closed_reason"], read["conclusion"]) == ("closed", "review_window_expired", "meets")
    runtime = system.runtime("exemption")

    async def swept() -> bool:
        async with runtime.sessions() as session:
            row = (await session.execute(select(ExemptionCase).where(ExemptionCase.id == swept_case.id))).scalar_one()
        return row.state == "closed"

    await eventually(swept, timeout=5)


async def test_only_the_subject_confirms_or_requests_a_review(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    await case.decide()
    assert (await case.post("/review-requests", {"grounds": "x"}, case.admin)).status_code == 403
    assert (await case.post("/confirmation", {}, case.member)).status_code == 403


async def _under_review(system: InProcessSystem):
    case = await open_case(system)
    await case.prepare()
    await case.decide("does_not_meet")
    await case.ok("/review-requests", {"grounds": "证据不足"}, case.subject)
    return case


async def test_accepted_review_needs_a_full_re_determination(system: InProcessSystem) -> None:
    case = await _under_review(system)
    problem(await case.post("/review-outcome", {"accepted": True}), 422, "EXE-9")
    attended = case.decision(meeting={"body": "党委会", "held_on": HELD_ON, "attendees": [case.subject_id]})
    problem(await case.post("/review-outcome", {"accepted": True, "decision": attended}), 422, "EXE-6")
    no_points = case.decision("basically_meets", improvements=[])
    problem(await case.post("/review-outcome", {"accepted": True, "decision": no_points}), 422, "EXE-7")
    result = await case.ok("/review-outcome", {"accepted": True, "decision": case.decision("basically_meets")})
    assert result["state"] == "awaiting_confirmation"
    assert result["conclusion"] == "basically_meets"
    assert [d["kind"] for d in result["decisions"]] == ["initial", "re_determination"]
    assert result["reviews"][0]["outcome"] == "accepted"


async def test_rejected_review_needs_a_written_explanation(system: InProcessSystem) -> None:
    case = await _under_review(system)
    problem(await case.post("/review-outcome", {"accepted": False}), 422, "EXE-9")
    problem(await case.post("/review-outcome", {"accepted": False, "explanation": " "}), 422, "EXE-9")
    result = await case.ok("/review-outcome", {"accepted": False, "explanation": "原结论证据充分"})
    assert result["state"] == "review_rejected"
    problem(await case.post("/review-outcome", {"accepted": False, "explanation": "再次"}), 409, "EXE-9")


async def _rejected(system: InProcessSystem):
    case = await _under_review(system)
    await case.ok("/review-outcome", {"accepted": False, "explanation": "维持原结论"})
    return case


ESCALATION = {"application_reference": "辽科申〔2030〕1号", "subject_objection": "当事人仍有异议"}


async def test_escalation_only_after_a_review_and_in_writing(system: InProcessSystem) -> None:
    early = await open_case(system)
    await early.prepare()
    await early.decide()
    problem(await early.post("/escalation", ESCALATION), 409, "EXE-10")
    case = await _rejected(system)
    problem(await case.post("/escalation", {"subject_objection": "x"}), 422, "EXE-10")
    problem(await case.post("/escalation", ESCALATION, case.subject), 422, "EXE-6")
    assert (await case.post("/escalation", ESCALATION, case.member)).status_code == 403
    assert (await case.ok("/escalation", ESCALATION))["state"] == "escalated"


@pytest.mark.parametrize(
    "departments", [["science"], ["science", "science"], ["science", " "], []]
)
async def test_joint_determination_needs_two_distinct_departments(system: InProcessSystem, departments: list[str]) -> None:
    case = await _rejected(system)
    await case.ok("/escalation", ESCALATION)
    office = system.auth("provincial_office")
    body = {"departments": departments, "conclusion": "meets", "reasoning": "联合认定"}
    problem(await case.post("/department-determination", body, office), 422, "EXE-10")


async def test_joint_determination_is_final(system: InProcessSystem) -> None:
    case = await _rejected(system)
    office = system.auth("provincial_office")
    body = {"departments": ["science", "finance"], "conclusion": "basically_meets", "reasoning": "联合认定",
            "improvements": ["完善内控"], "shortcomings_direct_cause": False}  # EXE-7 binds the province too
    problem(await case.post("/department-determination", body, office), 404, None)  # not escalated yet: invisible
    await case.ok("/escalation", ESCALATION)
    assert (await case.post("/department-determination", body, system.auth("department"))).status_code == 403
    result = await case.ok("/department-determination", body, office)
    assert (result["state"], result["conclusion"]) == ("determined", "basically_meets")
    problem(await case.post("/department-determination", body, office), 409, "EXE-10")
    problem(await case.post("/escalation", ESCALATION), 409, "EXE-10")
    problem(await case.post("/evidence", {"kind": "other", "title": "t", "reference": "r"}), 409, "EXE-5")
    problem(await case.post("/confirmation", {}, case.subject), 409, "EXE-8")
    events = await _events(system, case.id)
    assert [e["type"] for e in events] == [
        "exemption.case.opened", "exemption.conclusion.issued", "exemption.review.requested",
        "exemption.review.decided", "exemption.case.escalated", "exemption.determination.issued",
    ]
    allowed = {"case_id", "unit_id", "conclusion", "accepted"}
    assert all(set(e["data"]) <= allowed for e in events)
    assert events[-1]["data"] == {"case_id": case.id, "unit_id": case.unit_id, "conclusion": "basically_meets"}


async def _events(system: InProcessSystem, case_id: str) -> list[dict]:
    runtime = system.runtime("exemption")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).order_by(outbox.c.seq))).scalars().all()
    return [e for e in map(orjson.loads, rows) if e["subject"] == case_id]


async def test_stale_if_match_is_412_and_idempotency_key_replays(system: InProcessSystem) -> None:
    case = await open_case(system)
    response = await case.client.put(case.url("/panel"), json={"mode": "working_group", "members": [{"person_id": "m", "name": "m"}]},
                                     headers={**case.admin, "If-Match": '"7"'})
    assert response.status_code == 412
    headers = {**case.admin, "Idempotency-Key": pid("key")}
    evidence = {"kind": "document", "title": "t", "reference": "r"}
    first = await case.client.post(case.url("/evidence"), json=evidence, headers=headers)
    second = await case.client.post(case.url("/evidence"), json=evidence, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert len((await case.get())["evidence"]) == 1
