"""The case state machine and its rules at their edges: pure, no fixtures, no I/O."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from exemption.domain import cases as d
from exemption.domain.assessment import RecordStep, assess_price_fixing
from exemption.domain.clauses import check_negative_clause, check_positive_clauses, check_subject
from servicekit.errors import Forbidden, InvalidState, PolicyViolation

NOW = datetime(2030, 1, 1, 8, 0, 0, 500000, tzinfo=UTC)
TODAY = date(2030, 1, 1)
ADMIN = d.Viewer(sub="admin", roles=frozenset({"unit_admin"}), unit_id="u1")
SUBJECT = d.Viewer(sub="subj", roles=frozenset({"researcher"}), unit_id="u1")
OFFICE = d.Viewer(sub="office", roles=frozenset({"provincial_office"}), unit_id=None)


def rule_of(call) -> str:
    with pytest.raises((PolicyViolation, InvalidState)) as caught:
        call()
    return caught.value.rule


def opened(role: str = "leader", rank: str | None = "deputy", clauses: list[str] | None = None) -> d.Case:
    return d.open_case(
        case_id="c1", unit_id="u1", viewer=ADMIN,
        subjects=[d.SubjectEntryDraft(person_id="subj", name="张三", role=role, leader_rank=rank)],
        matter=d.MatterDraft(summary="s"), claimed_clauses=clauses or (["G6"] if role == "researcher" else ["G5.3"]), now=NOW,
    )


def ready(case: d.Case | None = None) -> d.Case:
    case = case or opened()
    case = d.set_panel(case, viewer=ADMIN, panel=d.PanelDraft(mode="working_group", members=[d.Person(person_id="m", name="m")]), now=NOW)
    case = d.add_evidence(case, viewer=ADMIN, evidence_id="e1", evidence=d.EvidenceDraft(kind="document", title="t", reference="r"), now=NOW)
    return d.record_statement(case, viewer=ADMIN, statement=d.StatementDraft(heard_on=TODAY, summary="s"), today=TODAY, now=NOW)


def draft(conclusion: str = "meets", attendees: tuple[str, ...] = ("admin", "a2", "a3"), **kw) -> d.DecisionDraft:
    meeting = d.MeetingDraft(body="党委会", held_on=TODAY, attendees=list(attendees))
    return d.DecisionDraft(meeting=meeting, conclusion=conclusion, clauses=kw.pop("clauses", ["G5.3"]), reasoning="r", **kw)


def decided(case: d.Case | None = None, conclusion: str = "meets", days: int = 15) -> d.Case:
    return d.decide(ready(case), viewer=ADMIN, draft=draft(conclusion), pricing_steps=0, review_request_days=days, min_attendees=3, today=TODAY, now=NOW)


def test_leader_needs_a_rank_and_others_have_none() -> None:
    check_subject("leader", "principal")
    check_subject("manager", None)
    assert rule_of(lambda: check_subject("leader", None)) == "SCO-2"
    assert rule_of(lambda: check_subject("manager", "deputy")) == "SCO-2"


def test_positive_clauses_by_role() -> None:
    assert check_positive_clauses("manager", ["G5.1", "G5.9", "G5.1"], at_least_one=True) == ["G5.1", "G5.9"]
    assert check_positive_clauses("researcher", ["G6"], at_least_one=True) == ["G6"]
    assert rule_of(lambda: check_positive_clauses("leader", ["G6"], at_least_one=True)) == "EXE-1"
    assert rule_of(lambda: check_positive_clauses("researcher", ["G5.3"], at_least_one=True)) == "EXE-2"


def test_negative_clauses_by_role() -> None:
    check_negative_clause("leader", "G7.2")
    check_negative_clause("researcher", "G7.3")
    assert rule_of(lambda: check_negative_clause("researcher", "G7.2")) == "EXE-3"
    assert rule_of(lambda: check_negative_clause("manager", "G7.3")) == "EXE-3"
    assert rule_of(lambda: check_negative_clause("manager", "G8")) == "EXE-3"


def test_transitions_are_pure_and_recorded_in_history() -> None:
    case = opened()
    after = d.set_panel(case, viewer=ADMIN, panel=d.PanelDraft(mode="third_party", third_party=d.ThirdPartyDraft(name="所")), now=NOW)
    assert case.panel is None and after.panel is not None
    assert [h.action for h in after.history] == ["open", "set_panel"]


def test_recusal_of_the_subject() -> None:
    me = d.Person(person_id="subj", name="张三")
    assert rule_of(lambda: d.set_panel(opened(), viewer=ADMIN, panel=d.PanelDraft(mode="working_group", members=[me]), now=NOW)) == "EXE-6"
    contact = d.PanelDraft(mode="third_party", third_party=d.ThirdPartyDraft(name="所", contact=me))
    assert rule_of(lambda: d.set_panel(opened(), viewer=ADMIN, panel=contact, now=NOW)) == "EXE-6"
    assert rule_of(lambda: d.decide(ready(), viewer=ADMIN, draft=draft(attendees=("admin", "a2", "subj")), pricing_steps=0,
                                    review_request_days=15, min_attendees=3, today=TODAY, now=NOW)) == "EXE-6"


def test_prerequisites_before_a_decision() -> None:
    case = opened()
    assert d.allowed_conclusions(case, pricing_steps=0) == []
    assert rule_of(lambda: d.decide(case, viewer=ADMIN, draft=draft(), pricing_steps=0, review_request_days=15, min_attendees=3, today=TODAY, now=NOW)) == "EXE-5"
    assert d.allowed_conclusions(ready(), pricing_steps=0) == list(d.CONCLUSIONS)
    no_evidence = ready().model_copy(update={"evidence": []})
    assert d.prerequisites(no_evidence, pricing_steps=0)["evidence"] is False
    assert d.prerequisites(no_evidence, pricing_steps=1)["evidence"] is True


def test_basically_meets_needs_an_improvement() -> None:
    assert rule_of(lambda: d.decide(ready(), viewer=ADMIN, draft=draft("basically_meets"), pricing_steps=0,
                                    review_request_days=15, min_attendees=3, today=TODAY, now=NOW)) == "EXE-7"
    ok = d.decide(ready(), viewer=ADMIN, draft=draft("basically_meets", improvements=["改进"], shortcomings_direct_cause=False), pricing_steps=0,
                  review_request_days=15, min_attendees=3, today=TODAY, now=NOW)
    assert ok.conclusion == "basically_meets"


def test_negative_finding_leaves_only_does_not_meet() -> None:
    case = d.record_negative_finding(ready(), viewer=ADMIN, finding_id="f", finding=d.FindingDraft(clause="G7.1", finding="x"), now=NOW)
    assert d.allowed_conclusions(case, pricing_steps=0) == ["does_not_meet"]
    assert rule_of(lambda: d.decide(case, viewer=ADMIN, draft=draft("meets"), pricing_steps=0,
                                    review_request_days=15, min_attendees=3, today=TODAY, now=NOW)) == "EXE-3"
    assert d.decide(case, viewer=ADMIN, draft=draft("does_not_meet", clauses=[]), pricing_steps=0,
                    review_request_days=15, min_attendees=3, today=TODAY, now=NOW).state == "awaiting_confirmation"


def test_review_window_is_inclusive_to_the_second() -> None:
    case = decided(days=15)
    deadline = datetime(2030, 1, 16, 8, 0, 0, tzinfo=UTC)
    assert case.review_deadline == deadline
    last_moment = deadline + timedelta(microseconds=999999)
    assert d.request_review(case, viewer=SUBJECT, grounds="g", now=last_moment).state == "under_review"
    assert rule_of(lambda: d.request_review(case, viewer=SUBJECT, grounds="g", now=deadline + timedelta(seconds=1))) == "EXE-8"
    assert d.advance(case, last_moment).state == "awaiting_confirmation"
    expired = d.advance(case, deadline + timedelta(seconds=1))
    assert (expired.state, expired.closed_reason, expired.conclusion) == ("closed", "review_window_expired", "meets")
    assert rule_of(lambda: d.request_review(expired, viewer=SUBJECT, grounds="g", now=deadline + timedelta(seconds=1))) == "EXE-8"


def test_review_outcomes() -> None:
    under = d.request_review(decided(conclusion="does_not_meet"), viewer=SUBJECT, grounds="g", now=NOW)
    reject = d.ReviewOutcomeDraft(accepted=False)
    assert rule_of(lambda: d.decide_review(under, viewer=ADMIN, outcome=reject, pricing_steps=0, review_request_days=15, min_attendees=3, today=TODAY, now=NOW)) == "EXE-9"
    accept = d.ReviewOutcomeDraft(accepted=True)
    assert rule_of(lambda: d.decide_review(under, viewer=ADMIN, outcome=accept, pricing_steps=0, review_request_days=15, min_attendees=3, today=TODAY, now=NOW)) == "EXE-9"
    later = NOW + timedelta(days=3)
    redone = d.decide_review(under, viewer=ADMIN, outcome=d.ReviewOutcomeDraft(accepted=True, decision=draft("meets")),
                             pricing_steps=0, review_request_days=10, min_attendees=3, today=TODAY, now=later)
    assert (redone.state, redone.conclusion) == ("awaiting_confirmation", "meets")
    assert redone.review_deadline == later.replace(microsecond=0) + timedelta(days=10)


def test_escalation_and_joint_determination() -> None:
    under = d.request_review(decided(), viewer=SUBJECT, grounds="g", now=NOW)
    assert rule_of(lambda: d.escalate(under, viewer=ADMIN, draft=d.EscalationDraft(application_reference="a", subject_objection="o"), now=NOW)) == "EXE-10"
    rejected = d.decide_review(under, viewer=ADMIN, outcome=d.ReviewOutcomeDraft(accepted=False, explanation="e"),
                               pricing_steps=0, review_request_days=15, min_attendees=3, today=TODAY, now=NOW)
    assert rule_of(lambda: d.escalate(rejected, viewer=ADMIN, draft=d.EscalationDraft(application_reference="a"), now=NOW)) == "EXE-10"
    escalated = d.escalate(rejected, viewer=ADMIN, draft=d.EscalationDraft(application_reference="a", subject_objection="o"), now=NOW)
    assert d.can_see(escalated, OFFICE) and not d.can_see(rejected, OFFICE)
    one = d.DeterminationDraft(departments=["science", "science"], conclusion="meets", reasoning="r")
    assert rule_of(lambda: d.determine(escalated, viewer=OFFICE, draft=one, now=NOW)) == "EXE-10"
    two = d.DeterminationDraft(departments=["science", "health"], conclusion="does_not_meet", reasoning="r")
    final = d.determine(escalated, viewer=OFFICE, draft=two, now=NOW)
    assert (final.state, final.conclusion) == ("determined", "does_not_meet")
    assert rule_of(lambda: d.determine(final, viewer=OFFICE, draft=two, now=NOW)) == "EXE-10"
    with pytest.raises(Forbidden):
        d.determine(escalated, viewer=ADMIN, draft=two, now=NOW)


def test_every_action_is_closed_after_the_final_determination_or_confirmation() -> None:
    closed = d.confirm(decided(), viewer=SUBJECT, now=NOW)
    assert (closed.state, closed.closed_reason) == ("closed", "confirmed")
    for action in d.TRANSITIONS:
        with pytest.raises(InvalidState):
            d.check_transition(closed, action)


def step(seq: int, name: str, **details) -> RecordStep:
    return RecordStep(seq=seq, at=NOW, step=name, details=details)


@pytest.mark.parametrize(
    ("record", "status"),
    [
        ([step(1, "notice_published", price="10.00"), step(2, "notice_closed", objected=False), step(3, "concluded", basis="notice_clear", price="10.00")], "supported"),
        ([step(1, "listing_published", price="10.00"), step(2, "delisted"), step(3, "concluded", basis="delisted", price="10.00")], "supported"),
        ([step(1, "auction_opened"), step(2, "auction_closed"), step(3, "concluded", basis="auction", price="12.00")], "supported"),
        ([step(1, "notice_published", price="10.00"), step(2, "notice_closed", objected=True), step(3, "listing_published", price="10.00"),
          step(4, "listing_expired"), step(5, "concluded", basis="listing_expired", price="10.00")], "supported"),
        ([step(1, "notice_published", price="10.00"), step(2, "notice_closed", objected=True), step(3, "concluded", basis="listing_expired", price="10.00")], "not_supported"),
        ([step(1, "notice_published", price="10.00"), step(2, "notice_closed", objected=True), step(3, "concluded", basis="notice_clear", price="10.00")], "not_supported"),
        ([step(1, "notice_published", price="10.00"), step(2, "concluded", basis="notice_clear", price="10.00")], "not_supported"),
        ([step(1, "opened"), step(2, "notice_published", price="10.00")], "not_supported"),
    ],
)
def test_g5_3_from_the_pricing_record(record: list[RecordStep], status: str) -> None:
    result = assess_price_fixing(list(reversed(record)), NOW)
    assert result.status == status
    assert result.reasons[0].startswith("EXE-11")
