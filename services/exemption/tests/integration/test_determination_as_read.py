"""The determination as G 8–9 read (second revision), each rule at its edges through HTTP: EXE-3, 5, 7, 8, 10."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select

from servicekit.testing import InProcessSystem, eventually, publish_event

from .cases import HELD_ON, open_case, pid


def problem(response, status: int, rule: str | None) -> None:
    assert response.status_code == status, response.text
    assert response.json().get("rule") == rule, response.text


def meeting(case, count: int) -> dict:
    return {"body": "党委会", "held_on": HELD_ON, "attendees": [case.admin_id] + [pid("attendee") for _ in range(count - 1)]}


async def test_two_attendees_are_refused_and_three_accepted_with_the_default_policy(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    problem(await case.post("/decision", case.decision(meeting=meeting(case, 2))), 422, "EXE-5")
    repeated = {**meeting(case, 2), "attendees": [case.admin_id, case.admin_id, "x"]}
    problem(await case.post("/decision", case.decision(meeting=repeated)), 422, "EXE-5")  # distinct people count
    assert (await case.decide(meeting=meeting(case, 3)))["state"] == "awaiting_confirmation"


async def test_the_units_min_meeting_attendees_from_its_policy_event_counts(system: InProcessSystem, nats_url: str) -> None:
    unit = await system.register_unit()
    policy = {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90, "min_meeting_attendees": 4}
    await publish_event(nats_url, "ownership.unit.policy_changed", unit["id"],
                        {"unit_id": unit["id"], "policy": policy, "version": 50})
    runtime = system.runtime("exemption")
    from exemption.models import UNIT_POLICIES

    async def replicated() -> bool:
        async with runtime.sessions() as session:
            row = (await session.execute(select(UNIT_POLICIES).where(UNIT_POLICIES.c.unit_id == unit["id"]))).first()
        return row is not None and row.min_meeting_attendees == 4

    await eventually(replicated)
    case = await open_case(system, unit["id"])
    await case.prepare()
    problem(await case.post("/decision", case.decision(meeting=meeting(case, 3))), 422, "EXE-5")
    assert (await case.decide(meeting=meeting(case, 4)))["state"] == "awaiting_confirmation"


async def test_basically_meets_needs_the_finding_that_shortcomings_were_not_the_direct_cause(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    without = case.decision("basically_meets")
    del without["shortcomings_direct_cause"]
    problem(await case.post("/decision", without), 422, "EXE-7")
    problem(await case.post("/decision", case.decision("basically_meets", shortcomings_direct_cause=True)), 422, "EXE-7")
    decided = await case.decide("basically_meets")
    assert decided["decisions"][0]["shortcomings_direct_cause"] is False


async def _decided_at(system: InProcessSystem, clock, instant: datetime):
    await clock(instant)
    case = await open_case(system)
    await case.prepare()
    await case.decide()
    return case


async def test_review_window_runs_from_the_recorded_delivery_to_the_second(system: InProcessSystem, clock) -> None:
    decided_at = datetime(2031, 3, 1, 9, 0, 0, tzinfo=UTC)
    delivered_at = decided_at + timedelta(days=5, hours=2)
    inside, late = await _decided_at(system, clock, decided_at), await _decided_at(system, clock, decided_at)
    await clock(delivered_at + timedelta(hours=1))
    problem(await inside.post("/delivery", {"delivered_at": (decided_at - timedelta(days=1)).isoformat(), "method": "当面送达"}), 422, "EXE-8")
    problem(await inside.post("/delivery", {"delivered_at": (delivered_at + timedelta(days=1)).isoformat(), "method": "当面送达"}), 422, "EXE-8")
    assert (await inside.post("/delivery", {"delivered_at": delivered_at.isoformat(), "method": "当面送达"}, inside.subject)).status_code == 422
    for case in (inside, late):
        delivered = await case.ok("/delivery", {"delivered_at": delivered_at.isoformat(), "method": "挂号信"})
        assert datetime.fromisoformat(delivered["review_deadline"]) == delivered_at + timedelta(days=15)
        assert delivered["subjects"][0]["delivery_method"] == "挂号信"
    deadline = delivered_at + timedelta(days=15)
    await clock(decided_at + timedelta(days=15, seconds=1))  # the window counted from the decision would be over
    assert (await inside.get())["state"] == "awaiting_confirmation"
    await clock(deadline)
    assert (await inside.ok("/review-requests", {"grounds": "不服"}, inside.subject, status=201))["state"] == "under_review"
    await clock(deadline + timedelta(seconds=1))
    problem(await late.post("/review-requests", {"grounds": "迟到"}, late.subject), 422, "EXE-8")
    events = await _events(system, inside.id, "exemption.conclusion.delivered")
    assert [e["data"] for e in events] == [{
        "case_id": inside.id, "unit_id": inside.unit_id, "delivered_at": delivered_at.isoformat(),
        "review_deadline": deadline.isoformat(), "subject_id": "s1",
    }]


async def _events(system: InProcessSystem, case_id: str, event_type: str) -> list[dict]:
    runtime = system.runtime("exemption")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.seq))).scalars().all()
    return [e for e in map(orjson.loads, rows) if e["subject"] == case_id]


ESCALATION = {"application_reference": "辽科申〔2031〕2号", "subject_objection": "复核后仍有异议"}


async def _re_determined(system: InProcessSystem):
    case = await open_case(system)
    await case.prepare()
    await case.decide("does_not_meet")
    await case.ok("/review-requests", {"grounds": "证据不足"}, case.subject)
    await case.ok("/review-outcome", {"accepted": True, "decision": case.decision("basically_meets")})
    return case


async def test_escalation_after_a_re_determination_is_accepted_but_not_before_any_review(system: InProcessSystem) -> None:
    early = await open_case(system)
    await early.prepare()
    await early.decide()
    problem(await early.post("/escalation", ESCALATION), 409, "EXE-10")
    case = await _re_determined(system)
    assert (await case.get())["state"] == "awaiting_confirmation"
    assert (await case.ok("/escalation", ESCALATION))["state"] == "escalated"


async def test_joint_determination_takes_other_departments_by_name_and_closes_the_case(system: InProcessSystem) -> None:
    case = await _re_determined(system)
    await case.ok("/escalation", ESCALATION)
    office = system.auth("provincial_office")
    body = {"departments": ["science", "辽宁省知识产权局"], "conclusion": "basically_meets", "reasoning": "联合认定"}
    problem(await case.post("/department-determination", body, office), 422, "EXE-7")
    result = await case.ok("/department-determination", {**body, "improvements": ["完善流程"], "shortcomings_direct_cause": False}, office)
    assert (result["state"], result["closed"], result["closed_reason"]) == ("determined", True, "joint_determination")
    assert result["determination"]["departments"] == ["science", "辽宁省知识产权局"]


async def test_a_confirmed_negative_finding_binds_the_re_determination_and_the_joint_determination(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    await case.ok("/negative-findings", {"clause": "G7.4", "finding": "收受礼金"})
    await case.decide("does_not_meet", clauses=["G7.4"])
    await case.ok("/review-requests", {"grounds": "不服"}, case.subject)
    problem(await case.post("/review-outcome", {"accepted": True, "decision": case.decision("meets")}), 422, "EXE-3")
    await case.ok("/review-outcome", {"accepted": False, "explanation": "证据确凿"})
    await case.ok("/escalation", ESCALATION)
    office = system.auth("provincial_office")
    body = {"departments": ["science", "health"], "conclusion": "meets", "reasoning": "联合认定"}
    problem(await case.post("/department-determination", body, office), 422, "EXE-3")
    result = await case.ok("/department-determination", {**body, "conclusion": "does_not_meet"}, office)
    assert result["conclusion"] == "does_not_meet"
