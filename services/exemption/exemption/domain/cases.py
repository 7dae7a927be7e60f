"""The exemption case as ONE explicit state machine over the determination procedure (G art. 8, 9).

investigating ──decide──▶ awaiting_confirmation ──confirm──▶ closed
      ▲  (panel, evidence,        │  └─ review window over (EXE-8) ──▶ closed
      │   statements, findings)   └─request_review (EXE-8)──▶ under_review
      │                                 under_review ──accept_review (EXE-9)──▶ awaiting_confirmation
      │                                 under_review ──reject_review (EXE-9)──▶ review_rejected
      │                                 review_rejected ──confirm──▶ closed
      │                                 review_rejected ──escalate (EXE-10)──▶ escalated
      │                                 escalated ──determine (EXE-10)──▶ determined (final)

Every function is pure: it takes the case and `now`, refuses with the rule that explains the
refusal, and returns a new case. Ids of new items are passed in by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from contracts.common import Money, Strict
from exemption.domain.clauses import check_negative_clause, check_positive_clauses, check_subject, positive_rule
from servicekit.errors import Forbidden, InvalidInput, InvalidState, PolicyViolation

CONCLUSIONS = ("meets", "basically_meets", "does_not_meet")  # EXE-7
PANEL_MODES = ("working_group", "third_party")  # EXE-4
DEPARTMENTS = ("science", "finance", "education", "health", "state_assets")  # EXE-10, G art. 9
MIN_DEPARTMENTS = 2  # EXE-10: a joint determination
EVIDENCE_KINDS = ("document", "testimony", "record", "other")
ESCALATED_STATES = ("escalated", "determined")
WINDOW_GRANULARITY = timedelta(seconds=1)

State = Literal[
    "investigating", "awaiting_confirmation", "under_review", "review_rejected", "escalated", "determined", "closed"
]
INVESTIGATION = ("investigating", "under_review")

# The transition table: action → (states it is allowed in, state it leads to or None, rule explaining a refusal).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "set_panel": (INVESTIGATION, None, "EXE-4"),
    "add_evidence": (INVESTIGATION, None, "EXE-5"),
    "record_statement": (INVESTIGATION, None, "EXE-5"),
    "record_negative_finding": (INVESTIGATION, None, "EXE-3"),
    "decide": (("investigating",), "awaiting_confirmation", "EXE-5"),
    "confirm": (("awaiting_confirmation", "review_rejected"), "closed", "EXE-8"),
    "request_review": (("awaiting_confirmation",), "under_review", "EXE-8"),
    "expire_review_window": (("awaiting_confirmation",), "closed", "EXE-8"),
    "accept_review": (("under_review",), "awaiting_confirmation", "EXE-9"),
    "reject_review": (("under_review",), "review_rejected", "EXE-9"),
    "escalate": (("review_rejected",), "escalated", "EXE-10"),
    "determine": (("escalated",), "determined", "EXE-10"),
}


# ---- inputs (the HTTP request bodies; unknown fields are refused so typos never pass silently) -----

class Person(Strict):
    person_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)


class SubjectDraft(Person):
    role: str = Field(description="leader | manager | researcher (SCO-2)")
    leader_rank: str | None = Field(default=None, description="principal | deputy, for leaders (SCO-2)")


class MatterDraft(Strict):
    summary: str = Field(min_length=1, max_length=5000)
    loss_amount: Money | None = None
    transaction_id: str | None = Field(default=None, min_length=1, max_length=64)
    achievement_id: str | None = Field(default=None, min_length=1, max_length=64)


class ThirdPartyDraft(Strict):
    name: str | None = Field(default=None, max_length=300)
    contact: Person | None = None


class PanelDraft(Strict):
    mode: str = Field(description="working_group | third_party (EXE-4)")
    members: list[Person] = Field(default_factory=list, max_length=100)
    third_party: ThirdPartyDraft | None = None


class EvidenceDraft(Strict):
    kind: str = Field(description="document | testimony | record | other")
    title: str = Field(min_length=1, max_length=500)
    reference: str = Field(min_length=1, max_length=500)


class StatementDraft(Strict):
    heard_on: date | None = None
    summary: str | None = Field(default=None, max_length=10000)
    refused: bool = False
    documented_on: date | None = None


class FindingDraft(Strict):
    clause: str = Field(description="G7.1 … G7.5 (EXE-3)")
    finding: str = Field(min_length=1, max_length=10000)


class MeetingDraft(Strict):
    body: str | None = Field(default=None, max_length=300, description="e.g. 校长办公会, 党委会 (EXE-5)")
    held_on: date | None = None
    attendees: list[str] = Field(default_factory=list, max_length=200, description="person ids (EXE-6)")


class DecisionDraft(Strict):
    meeting: MeetingDraft | None = None
    conclusion: str = Field(description="meets | basically_meets | does_not_meet (EXE-7)")
    clauses: list[str] = Field(default_factory=list, max_length=20)
    reasoning: str = Field(min_length=1, max_length=20000)
    improvements: list[str] = Field(default_factory=list, max_length=50)


class ReviewOutcomeDraft(Strict):
    accepted: bool
    decision: DecisionDraft | None = None
    explanation: str | None = Field(default=None, max_length=20000)


class EscalationDraft(Strict):
    application_reference: str | None = Field(default=None, max_length=300)
    subject_objection: str | None = Field(default=None, max_length=20000)


class DeterminationDraft(Strict):
    departments: list[str] = Field(default_factory=list, max_length=20)
    conclusion: str = Field(description="meets | basically_meets | does_not_meet (EXE-10)")
    reasoning: str = Field(min_length=1, max_length=20000)


# ---- the case ------------------------------------------------------------------------------------

class Panel(BaseModel):
    mode: str
    members: list[Person]
    third_party: ThirdPartyDraft | None = None
    set_at: datetime


class Evidence(EvidenceDraft):
    id: str
    recorded_at: datetime
    recorded_by: str


class Statement(StatementDraft):
    recorded_at: datetime


class Finding(FindingDraft):
    id: str
    recorded_at: datetime


class Meeting(BaseModel):
    body: str
    held_on: date
    attendees: list[str]


class Decision(BaseModel):
    kind: Literal["initial", "re_determination"]
    meeting: Meeting
    conclusion: str
    clauses: list[str]
    reasoning: str
    improvements: list[str]
    decided_at: datetime
    review_deadline: datetime


class Review(BaseModel):
    grounds: str
    requested_at: datetime
    outcome: Literal["accepted", "rejected"] | None = None
    explanation: str | None = None
    decided_at: datetime | None = None


class Escalation(BaseModel):
    application_reference: str
    subject_objection: str
    escalated_at: datetime


class Determination(BaseModel):
    departments: list[str]
    conclusion: str
    reasoning: str
    determined_at: datetime


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    state: str
    actor: str


class Case(BaseModel):
    id: str
    unit_id: str
    state: State
    subject: SubjectDraft
    matter: MatterDraft
    claimed_clauses: list[str]
    panel: Panel | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    statements: list[Statement] = Field(default_factory=list)
    negative_findings: list[Finding] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    review_deadline: datetime | None = None
    reviews: list[Review] = Field(default_factory=list)
    escalation: Escalation | None = None
    determination: Determination | None = None
    closed_reason: Literal["confirmed", "review_window_expired"] | None = None
    opened_at: datetime
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def conclusion(self) -> str | None:
        """The conclusion in force: the joint determination's, else the latest internal decision's."""
        if self.determination is not None:
            return self.determination.conclusion
        return self.decisions[-1].conclusion if self.decisions else None


@dataclass(frozen=True)
class Viewer:
    """Who is asking: token `sub`, roles and unit (the domain knows nothing of JWTs)."""

    sub: str
    roles: frozenset[str]
    unit_id: str | None


# ---- confidentiality (API.md §5) -----------------------------------------------------------------

def is_unit_admin(case: Case, viewer: Viewer) -> bool:
    """The unit_admin of the case's own unit."""
    return "unit_admin" in viewer.roles and viewer.unit_id == case.unit_id


def is_subject(case: Case, viewer: Viewer) -> bool:
    """The person whose conduct is determined."""
    return viewer.sub == case.subject.person_id


def is_panel_member(case: Case, viewer: Viewer) -> bool:
    """A member of the working group or of the third party's team."""
    return case.panel is not None and viewer.sub in {member.person_id for member in case.panel.members}


def can_see(case: Case, viewer: Viewer) -> bool:
    """Confidential: the unit's unit_admin, the subject, panel members, and once escalated the province."""
    if is_unit_admin(case, viewer) or is_subject(case, viewer) or is_panel_member(case, viewer):
        return True
    return case.state in ESCALATED_STATES and bool(viewer.roles & {"provincial_office", "department"})


def _require_determiner(case: Case, viewer: Viewer, *, panel_may: bool) -> None:
    """EXE-6 (G art. 8: 认定对象不得参与认定工作): the subject never does determination work."""
    if is_subject(case, viewer):
        raise PolicyViolation("EXE-6", "the subject may not take part in the determination of their own case")
    if is_unit_admin(case, viewer) or (panel_may and is_panel_member(case, viewer)):
        return
    raise Forbidden("only the unit's unit_admin" + (" or a panel member" if panel_may else "") + " may do this")


def _require_subject(case: Case, viewer: Viewer) -> None:
    if not is_subject(case, viewer):
        raise Forbidden("only the subject may do this")


# ---- transitions ---------------------------------------------------------------------------------

def check_transition(case: Case, action: str) -> None:
    """The transition table decides whether `action` is possible in the case's state (409 with the rule)."""
    allowed, _, rule = TRANSITIONS[action]
    if case.state not in allowed:
        raise InvalidState(f"{action} is not possible while the case is {case.state}", rule=rule)


def _enter(case: Case, action: str, actor: str, now: datetime) -> Case:
    """Return a copy in the action's next state with a history entry."""
    check_transition(case, action)
    target = TRANSITIONS[action][1]
    updated = case.model_copy(deep=True)
    if target is not None:
        updated.state = target  # type: ignore[assignment]
    updated.history.append(HistoryEntry(at=now, action=action, state=updated.state, actor=actor))
    return updated


def review_deadline_after(decided_at: datetime, review_request_days: int) -> datetime:
    """EXE-8: the window runs review_request_days × 24 h from the decision (whole seconds)."""
    return decided_at.replace(microsecond=0) + timedelta(days=review_request_days)


def review_window_open(deadline: datetime, now: datetime) -> bool:
    """EXE-8: a request is in time up to and including the last second named by the deadline."""
    return now < deadline + WINDOW_GRANULARITY


def open_case(
    *, case_id: str, unit_id: str, viewer: Viewer, subject: SubjectDraft, matter: MatterDraft,
    claimed_clauses: list[str], now: datetime,
) -> Case:
    """Open a case about a subject (SCO-2) and the clauses claimed for them (EXE-1 / EXE-2)."""
    check_subject(subject.role, subject.leader_rank)
    if viewer.sub == subject.person_id:
        raise PolicyViolation("EXE-6", "the subject may not open or handle their own case")
    if matter.loss_amount is not None and matter.loss_amount < Decimal("0"):
        raise InvalidInput("loss_amount cannot be negative")
    clauses = check_positive_clauses(subject.role, claimed_clauses, at_least_one=True)
    case = Case(
        id=case_id, unit_id=unit_id, state="investigating", subject=subject, matter=matter,
        claimed_clauses=clauses, opened_at=now,
    )
    case.history.append(HistoryEntry(at=now, action="open", state=case.state, actor=viewer.sub))
    return case


def set_panel(case: Case, *, viewer: Viewer, panel: PanelDraft, now: datetime) -> Case:
    """EXE-4: a working group (≥ 1 member) or an entrusted third party (named); EXE-6: the subject stays out."""
    _require_determiner(case, viewer, panel_may=False)
    check_transition(case, "set_panel")
    if panel.mode not in PANEL_MODES:
        raise PolicyViolation("EXE-4", f"the panel is a {' or a '.join(PANEL_MODES)}, not {panel.mode!r}")
    if panel.mode == "working_group" and not panel.members:
        raise PolicyViolation("EXE-4", "a working group needs at least one member")
    if panel.mode == "third_party" and (panel.third_party is None or not (panel.third_party.name or "").strip()):
        raise PolicyViolation("EXE-4", "an entrusted third party must be named (third_party.name)")
    if panel.mode == "working_group" and panel.third_party is not None:
        raise InvalidInput("a working group has no third_party")
    subject_id = case.subject.person_id
    if any(member.person_id == subject_id for member in panel.members):
        raise PolicyViolation("EXE-6", "the subject may not be a member of the panel")
    if panel.third_party is not None and panel.third_party.contact is not None and panel.third_party.contact.person_id == subject_id:
        raise PolicyViolation("EXE-6", "the subject may not be the third party's contact")
    updated = _enter(case, "set_panel", viewer.sub, now)
    updated.panel = Panel(mode=panel.mode, members=panel.members, third_party=panel.third_party, set_at=now)
    return updated


def add_evidence(case: Case, *, viewer: Viewer, evidence_id: str, evidence: EvidenceDraft, now: datetime) -> Case:
    """EXE-5: evidence collected objectively (pricing records are attached by the system, not here)."""
    _require_determiner(case, viewer, panel_may=True)
    check_transition(case, "add_evidence")
    if evidence.kind not in EVIDENCE_KINDS:
        raise InvalidInput(f"evidence kind is one of {', '.join(EVIDENCE_KINDS)} (pricing_record is attached by the system)")
    updated = _enter(case, "add_evidence", viewer.sub, now)
    updated.evidence.append(Evidence(id=evidence_id, recorded_at=now, recorded_by=viewer.sub, **evidence.model_dump()))
    return updated


def record_statement(case: Case, *, viewer: Viewer, statement: StatementDraft, today: date, now: datetime) -> Case:
    """EXE-5: the subject's opinion heard (heard_on + summary) or their refusal documented (documented_on)."""
    _require_determiner(case, viewer, panel_may=True)
    check_transition(case, "record_statement")
    if statement.refused:
        if statement.documented_on is None:
            raise PolicyViolation("EXE-5", "a refusal to make a statement needs documented_on")
        if statement.heard_on is not None or statement.summary:
            raise InvalidInput("a refused statement has no heard_on or summary")
        day = statement.documented_on
    else:
        if statement.heard_on is None or not (statement.summary or "").strip():
            raise PolicyViolation("EXE-5", "hearing the subject needs heard_on and a summary of their opinion")
        if statement.documented_on is not None:
            raise InvalidInput("documented_on is only for a refusal")
        day = statement.heard_on
    if day > today:
        raise PolicyViolation("EXE-5", "the subject cannot have been heard on a future day")
    updated = _enter(case, "record_statement", viewer.sub, now)
    updated.statements.append(Statement(recorded_at=now, **statement.model_dump()))
    return updated


def record_negative_finding(case: Case, *, viewer: Viewer, finding_id: str, finding: FindingDraft, now: datetime) -> Case:
    """EXE-3: a confirmed negative-list finding (G7.1–G7.5, by role)."""
    _require_determiner(case, viewer, panel_may=True)
    check_transition(case, "record_negative_finding")
    check_negative_clause(case.subject.role, finding.clause)
    updated = _enter(case, "record_negative_finding", viewer.sub, now)
    updated.negative_findings.append(Finding(id=finding_id, recorded_at=now, **finding.model_dump()))
    return updated


def prerequisites(case: Case, *, pricing_steps: int) -> dict[str, bool]:
    """EXE-5: panel formed, at least one piece of evidence (an attached pricing record counts), subject heard."""
    return {
        "panel": case.panel is not None,
        "evidence": bool(case.evidence) or pricing_steps > 0,
        "statement": bool(case.statements),
    }


def allowed_conclusions(case: Case, *, pricing_steps: int) -> list[str]:
    """EXE-3/EXE-5: none before the prerequisites, only does_not_meet with a negative finding, else all three."""
    if not all(prerequisites(case, pricing_steps=pricing_steps).values()):
        return []
    if case.negative_findings:
        return ["does_not_meet"]
    return list(CONCLUSIONS)


def _check_decision(case: Case, draft: DecisionDraft, *, pricing_steps: int, today: date) -> Meeting:
    """EXE-5 (prerequisites, collective decision), EXE-6 (recusal), EXE-7 (conclusions), EXE-3, EXE-1/2 (clauses)."""
    missing = [name for name, met in prerequisites(case, pricing_steps=pricing_steps).items() if not met]
    if missing:
        raise InvalidState(f"before concluding, record: {', '.join(missing)}", rule="EXE-5")
    meeting = draft.meeting
    if meeting is None or not (meeting.body or "").strip() or meeting.held_on is None or not meeting.attendees:
        raise PolicyViolation("EXE-5", "a conclusion needs a collective decision: meeting body, held_on and attendees")
    if meeting.held_on > today:
        raise PolicyViolation("EXE-5", "the decision meeting cannot be held on a future day")
    if case.subject.person_id in meeting.attendees:
        raise PolicyViolation("EXE-6", "the subject may not attend the decision meeting")
    if draft.conclusion not in CONCLUSIONS:
        raise PolicyViolation("EXE-7", f"the conclusion is one of {', '.join(CONCLUSIONS)}")
    if draft.conclusion == "basically_meets" and not [i for i in draft.improvements if i.strip()]:
        raise PolicyViolation("EXE-7", "basically_meets needs at least one improvement point")
    if case.negative_findings and draft.conclusion != "does_not_meet":
        clauses = ", ".join(f.clause for f in case.negative_findings)
        raise PolicyViolation("EXE-3", f"a confirmed negative finding ({clauses}) allows only does_not_meet")
    if draft.conclusion != "does_not_meet":
        check_positive_clauses(case.subject.role, draft.clauses, at_least_one=True)
    elif any(c not in case.claimed_clauses and not c.startswith("G7.") for c in draft.clauses):
        raise PolicyViolation(positive_rule(case.subject.role), "a decision cites claimed clauses or G7.x findings")
    return Meeting(body=(meeting.body or "").strip(), held_on=meeting.held_on, attendees=list(dict.fromkeys(meeting.attendees)))


def _decision(case: Case, draft: DecisionDraft, meeting: Meeting, kind: str, review_request_days: int, now: datetime) -> Decision:
    return Decision(
        kind=kind, meeting=meeting, conclusion=draft.conclusion, clauses=list(dict.fromkeys(draft.clauses)),
        reasoning=draft.reasoning, improvements=[i for i in draft.improvements if i.strip()], decided_at=now,
        review_deadline=review_deadline_after(now, review_request_days),
    )


def decide(
    case: Case, *, viewer: Viewer, draft: DecisionDraft, pricing_steps: int, review_request_days: int,
    today: date, now: datetime,
) -> Case:
    """The collective decision (EXE-5/6/7, EXE-3); delivered to the subject with a review deadline (EXE-8)."""
    _require_determiner(case, viewer, panel_may=False)
    check_transition(case, "decide")
    meeting = _check_decision(case, draft, pricing_steps=pricing_steps, today=today)
    updated = _enter(case, "decide", viewer.sub, now)
    updated.decisions.append(_decision(case, draft, meeting, "initial", review_request_days, now))
    updated.review_deadline = updated.decisions[-1].review_deadline
    return updated


def advance(case: Case, now: datetime) -> Case:
    """EXE-8: once the review window has passed without a request, the conclusion stands and the case closes."""
    if case.state == "awaiting_confirmation" and case.review_deadline is not None:
        if not review_window_open(case.review_deadline, now):
            updated = _enter(case, "expire_review_window", "system", case.review_deadline + WINDOW_GRANULARITY)
            updated.closed_reason = "review_window_expired"
            return updated
    return case


def confirm(case: Case, *, viewer: Viewer, now: datetime) -> Case:
    """EXE-8: the subject confirms the conclusion delivered to them; the case closes."""
    _require_subject(case, viewer)
    updated = _enter(case, "confirm", viewer.sub, now)
    updated.closed_reason = "confirmed"
    return updated


def request_review(case: Case, *, viewer: Viewer, grounds: str, now: datetime) -> Case:
    """EXE-8: the subject may ask for a review (复核) within the unit's review_request_days, not later."""
    _require_subject(case, viewer)
    deadline = case.review_deadline  # set by every decision, so in both states below
    if deadline is not None and case.state == "closed" and case.closed_reason == "review_window_expired":
        raise PolicyViolation("EXE-8", f"the review window ended at {deadline.isoformat()}")
    if deadline is not None and case.state == "awaiting_confirmation" and not review_window_open(deadline, now):
        raise PolicyViolation("EXE-8", f"the review window ended at {deadline.isoformat()}")
    updated = _enter(case, "request_review", viewer.sub, now)
    updated.reviews.append(Review(grounds=grounds, requested_at=now))
    return updated


def decide_review(
    case: Case, *, viewer: Viewer, outcome: ReviewOutcomeDraft, pricing_steps: int, review_request_days: int,
    today: date, now: datetime,
) -> Case:
    """EXE-9: a wrong conclusion is re-determined (EXE-5/6/7 again); otherwise a written explanation is mandatory."""
    _require_determiner(case, viewer, panel_may=False)
    if outcome.accepted:
        check_transition(case, "accept_review")
        if outcome.decision is None:
            raise PolicyViolation("EXE-9", "an accepted review needs the re-determination (decision)")
        meeting = _check_decision(case, outcome.decision, pricing_steps=pricing_steps, today=today)
        updated = _enter(case, "accept_review", viewer.sub, now)
        updated.decisions.append(_decision(case, outcome.decision, meeting, "re_determination", review_request_days, now))
        updated.review_deadline = updated.decisions[-1].review_deadline
        updated.reviews[-1].outcome = "accepted"
    else:
        check_transition(case, "reject_review")
        if not (outcome.explanation or "").strip():
            raise PolicyViolation("EXE-9", "not accepting a review needs a written explanation")
        updated = _enter(case, "reject_review", viewer.sub, now)
        updated.reviews[-1].outcome = "rejected"
        updated.reviews[-1].explanation = outcome.explanation
    updated.reviews[-1].decided_at = now
    return updated


def escalate(case: Case, *, viewer: Viewer, draft: EscalationDraft, now: datetime) -> Case:
    """EXE-10: after a rejected review the unit applies in writing to the provincial S&T office."""
    _require_determiner(case, viewer, panel_may=False)
    check_transition(case, "escalate")
    if not (draft.application_reference or "").strip() or not (draft.subject_objection or "").strip():
        raise PolicyViolation("EXE-10", "the written application needs application_reference and subject_objection")
    updated = _enter(case, "escalate", viewer.sub, now)
    updated.escalation = Escalation(
        application_reference=draft.application_reference, subject_objection=draft.subject_objection, escalated_at=now
    )
    return updated


def determine(case: Case, *, viewer: Viewer, draft: DeterminationDraft, now: datetime) -> Case:
    """EXE-10: the provincial office's joint determination by ≥ 2 departments; final on the platform."""
    if "provincial_office" not in viewer.roles:
        raise Forbidden("only the provincial S&T office records the joint determination")
    check_transition(case, "determine")
    departments = list(dict.fromkeys(draft.departments))
    unknown = [d for d in departments if d not in DEPARTMENTS]
    if unknown:
        raise PolicyViolation("EXE-10", f"departments are among {', '.join(DEPARTMENTS)}; unknown: {', '.join(unknown)}")
    if len(departments) < MIN_DEPARTMENTS:
        raise PolicyViolation("EXE-10", "a joint determination involves at least two departments")
    if draft.conclusion not in CONCLUSIONS:
        raise PolicyViolation("EXE-10", f"the joint determination concludes one of {', '.join(CONCLUSIONS)}")
    updated = _enter(case, "determine", viewer.sub, now)
    updated.determination = Determination(
        departments=departments, conclusion=draft.conclusion, reasoning=draft.reasoning, determined_at=now
    )
    return updated
