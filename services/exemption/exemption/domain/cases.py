"""The exemption case as ONE explicit state machine over the determination procedure (G art. 8, 9).

investigating ──decide──▶ awaiting_confirmation ──close (every subject confirmed or its window over)──▶ closed
      ▲  (panel, evidence,        │  └─request_review (a subject, in its window from delivery, EXE-8)──▶ under_review
      │   statements, findings)   │     under_review ──accept_review (EXE-9)──▶ awaiting_confirmation (re-determined)
      │                           │     under_review ──reject_review (EXE-9)──▶ review_rejected ──close──▶ closed
      │                           └─escalate after a re-determination (EXE-10)──▶ escalated
      │                                 review_rejected ──escalate (EXE-10)──▶ escalated
      │                                 escalated ──determine (EXE-10)──▶ determined (closed)

A case concerns one or more subjects (EXE-12): persons, a team or the unit itself. Each subject has
its own delivery, review window and answer (`awaiting` → `confirmed` | `review_requested` →
`review_rejected` | `window_expired`); the case closes once every subject confirmed or let its
window pass. Every function is pure: it takes the case and `now`, refuses with the rule that
explains the refusal, and returns a new case. Ids of new items are passed in by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from contracts.common import Money, Strict
from exemption.domain.clauses import (
    check_negative_clause,
    check_positive_clauses,
    check_subject,
    clause_role,
    positive_rule,
)
from servicekit.errors import Forbidden, InvalidInput, InvalidState, PolicyViolation

CONCLUSIONS = ("meets", "basically_meets", "does_not_meet")  # EXE-7
PANEL_MODES = ("working_group", "third_party")  # EXE-4
DEPARTMENTS = ("science", "finance", "education", "health", "state_assets")  # EXE-10, G art. 9 "等部门": and others
MIN_DEPARTMENTS = 2  # EXE-10: a joint determination
MIN_MEETING_ATTENDEES_FLOOR = 2  # EXE-5: one person is not a collective, whatever the unit's policy says
SUBJECT_KINDS = ("person", "team", "unit")  # EXE-12
EVIDENCE_KINDS = ("document", "testimony", "record", "other")
ESCALATED_STATES = ("escalated", "determined")
WINDOW_GRANULARITY = timedelta(seconds=1)

State = Literal[
    "investigating", "awaiting_confirmation", "under_review", "review_rejected", "escalated", "determined", "closed"
]
INVESTIGATION = ("investigating", "under_review")
RESPONDING = ("awaiting_confirmation", "under_review", "review_rejected")  # subjects answer the conclusion (EXE-8)
Answer = Literal["awaiting", "confirmed", "review_requested", "review_rejected", "window_expired"]
SETTLED_ANSWERS = ("confirmed", "window_expired")

# The transition table: action → (states it is allowed in, state it leads to or None, rule explaining a refusal).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "set_panel": (INVESTIGATION, None, "EXE-4"),
    "add_evidence": (INVESTIGATION, None, "EXE-5"),
    "record_statement": (INVESTIGATION, None, "EXE-5"),
    "record_negative_finding": (INVESTIGATION, None, "EXE-3"),
    "decide": (("investigating",), "awaiting_confirmation", "EXE-5"),
    "deliver": (RESPONDING, None, "EXE-8"),
    "confirm": (RESPONDING, None, "EXE-8"),
    "request_review": (RESPONDING, "under_review", "EXE-8"),
    "expire_review_window": (RESPONDING, None, "EXE-8"),
    "close": (("awaiting_confirmation", "review_rejected"), "closed", "EXE-8"),
    "accept_review": (("under_review",), "awaiting_confirmation", "EXE-9"),
    "reject_review": (("under_review",), "review_rejected", "EXE-9"),
    "escalate": (("review_rejected", "awaiting_confirmation"), "escalated", "EXE-10"),
    "determine": (("escalated",), "determined", "EXE-10"),
}


# ---- inputs (the HTTP request bodies; unknown fields are refused so typos never pass silently) -----

class Person(Strict):
    person_id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)


class SubjectDraft(Person):
    role: str = Field(description="leader | manager | researcher (SCO-2)")
    leader_rank: str | None = Field(default=None, description="principal | deputy, for leaders (SCO-2)")


class MemberDraft(Person):
    role: str = Field(default="researcher", description="leader | manager | researcher (SCO-2)")


class SubjectEntryDraft(Strict):
    """One subject of several (EXE-12): a person, a team (its members) or the unit itself."""

    kind: str = Field(default="person", description="person | team | unit (EXE-12)")
    person_id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=300)
    role: str | None = Field(default=None, description="for a person: leader | manager | researcher (SCO-2)")
    leader_rank: str | None = Field(default=None, description="principal | deputy, for leaders (SCO-2)")
    members: list[MemberDraft] = Field(default_factory=list, max_length=100, description="for a team")


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


class DocumentRef(BaseModel):
    """DOC-1: the file a piece of evidence carries; its SHA-256 proves it unchanged."""

    id: str
    sha256: str
    size: int
    media_type: str


class EvidenceFileDraft(Strict):
    """Evidence uploaded as a file (DOC-1): kind and title beside the document."""

    kind: str = Field(description="document | testimony | record | other")
    title: str = Field(min_length=1, max_length=500)
    reference: str | None = Field(default=None, max_length=500)
    document: DocumentRef


class StatementDraft(Strict):
    subject_id: str | None = Field(default=None, max_length=64, description="which subject, when the case has several (EXE-12)")
    heard_on: date | None = None
    summary: str | None = Field(default=None, max_length=10000)
    refused: bool = False
    documented_on: date | None = None


class FindingDraft(Strict):
    subject_id: str | None = Field(default=None, max_length=64, description="whose conduct, when the case has several subjects")
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
    shortcomings_direct_cause: bool | None = Field(
        default=None, description="EXE-7: false = the shortcomings found were not the direct cause of the loss")


class DeliveryDraft(Strict):
    delivered_at: datetime = Field(description="when the conclusion reached the subject (RFC 3339 with offset)")
    method: str = Field(min_length=1, max_length=100, description="e.g. in_person, registered_mail, electronic")
    subject_id: str | None = Field(default=None, max_length=64, description="one subject; every awaiting subject if omitted")


class ReviewOutcomeDraft(Strict):
    accepted: bool
    decision: DecisionDraft | None = None
    explanation: str | None = Field(default=None, max_length=20000)


class EscalationDraft(Strict):
    application_reference: str | None = Field(default=None, max_length=300)
    subject_objection: str | None = Field(default=None, max_length=20000)


class DeterminationDraft(Strict):
    departments: list[str] = Field(default_factory=list, max_length=20,
                                   description="≥ 2 distinct: science, finance, education, health, state_assets or others by name")
    conclusion: str = Field(description="meets | basically_meets | does_not_meet (EXE-10)")
    reasoning: str = Field(min_length=1, max_length=20000)
    improvements: list[str] = Field(default_factory=list, max_length=50)
    shortcomings_direct_cause: bool | None = None


# ---- the case ------------------------------------------------------------------------------------

class Panel(BaseModel):
    mode: str
    members: list[Person]
    third_party: ThirdPartyDraft | None = None
    set_at: datetime


class Member(BaseModel):
    person_id: str
    name: str
    role: str


class Subject(BaseModel):
    """A subject (EXE-12) with its own delivery, review window (EXE-8) and answer to the conclusion."""

    id: str
    kind: str
    person_id: str | None = None
    name: str
    role: str | None = None
    leader_rank: str | None = None
    members: list[Member] = Field(default_factory=list)
    delivered_at: datetime | None = None
    delivery_method: str | None = None
    review_deadline: datetime | None = None
    answer: Answer | None = None

    @property
    def persons(self) -> set[str]:
        """The people this subject is: the person, or the team's members."""
        return ({self.person_id} if self.person_id else set()) | {m.person_id for m in self.members}


class Evidence(BaseModel):
    id: str
    kind: str
    title: str
    reference: str | None = None
    document: DocumentRef | None = None
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
    shortcomings_direct_cause: bool | None = None
    decided_at: datetime
    review_deadline: datetime


class Review(BaseModel):
    subject_id: str | None = None
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
    improvements: list[str] = Field(default_factory=list)
    shortcomings_direct_cause: bool | None = None
    determined_at: datetime


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    state: str
    actor: str
    subject_id: str | None = None


class Case(BaseModel):
    id: str
    unit_id: str
    state: State
    subjects: list[Subject]
    matter: MatterDraft
    claimed_clauses: list[str]
    panel: Panel | None = None
    evidence: list[Evidence] = Field(default_factory=list)
    statements: list[Statement] = Field(default_factory=list)
    negative_findings: list[Finding] = Field(default_factory=list)
    decisions: list[Decision] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)
    escalation: Escalation | None = None
    determination: Determination | None = None
    closed_reason: Literal["confirmed", "review_window_expired", "joint_determination"] | None = None
    opened_at: datetime
    history: list[HistoryEntry] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _one_subject_of_the_first_version(cls, data: Any) -> Any:
        """Cases stored before EXE-12 named one `subject`: it becomes subject s1, answering as the case stood."""
        if not isinstance(data, dict) or "subjects" in data or "subject" not in data:
            return data
        data = dict(data)
        subject = {"id": "s1", "kind": "person", **data.pop("subject")}
        deadline = data.pop("review_deadline", None)
        if data.get("decisions"):
            subject["review_deadline"] = deadline
            subject["delivered_at"] = data["decisions"][-1]["decided_at"]
            subject["answer"] = {
                "confirmed": "confirmed", "review_window_expired": "window_expired",
            }.get(data.get("closed_reason") or "", {
                "under_review": "review_requested", "review_rejected": "review_rejected",
            }.get(data.get("state"), "awaiting"))
        data["subjects"] = [subject]
        data["statements"] = [{**st, "subject_id": st.get("subject_id") or "s1"} for st in data.get("statements", [])]
        return data

    @property
    def conclusion(self) -> str | None:
        """The conclusion in force: the joint determination's, else the latest internal decision's."""
        if self.determination is not None:
            return self.determination.conclusion
        return self.decisions[-1].conclusion if self.decisions else None

    @property
    def persons(self) -> set[str]:
        """Every person who is a subject, or a member of a subject team (EXE-6, EXE-12)."""
        return set().union(*(s.persons for s in self.subjects))

    @property
    def review_deadline(self) -> datetime | None:
        """EXE-8: the end of the last review window still open (else of the last window), counted from delivery."""
        open_windows = [s.review_deadline for s in self.subjects if s.answer == "awaiting" and s.review_deadline]
        windows = open_windows or [s.review_deadline for s in self.subjects if s.review_deadline]
        return max(windows) if windows else None

    def subject(self, subject_id: str) -> Subject:
        """The subject with this id; 422 EXE-12 for an id the case does not have."""
        for subject in self.subjects:
            if subject.id == subject_id:
                return subject
        raise PolicyViolation("EXE-12", "the case has no subject {subject_id}; its subjects: {subjects}",
                              subject_id=repr(subject_id), subjects=", ".join(s.id for s in self.subjects))


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
    """A person whose conduct is determined: a person subject or a member of a subject team (EXE-12)."""
    return viewer.sub in case.persons


def is_panel_member(case: Case, viewer: Viewer) -> bool:
    """A member of the working group or of the third party's team."""
    return case.panel is not None and viewer.sub in {member.person_id for member in case.panel.members}


def can_see(case: Case, viewer: Viewer) -> bool:
    """Confidential: the unit's unit_admin, the subjects, panel members, and once escalated the province."""
    if is_unit_admin(case, viewer) or is_subject(case, viewer) or is_panel_member(case, viewer):
        return True
    return case.state in ESCALATED_STATES and bool(viewer.roles & {"provincial_office", "department"})


def _require_determiner(case: Case, viewer: Viewer, *, panel_may: bool) -> None:
    """EXE-6 (G art. 8: 认定对象不得参与认定工作): no subject ever does determination work."""
    if is_subject(case, viewer):
        raise PolicyViolation("EXE-6", "a subject may not take part in the determination of their own case")
    if is_unit_admin(case, viewer) or (panel_may and is_panel_member(case, viewer)):
        return
    raise Forbidden("only the unit's unit_admin" + (" or a panel member" if panel_may else "") + " may do this")


def acts_for(case: Case, subject: Subject, viewer: Viewer) -> bool:
    """EXE-12: a person answers for themself; the unit's unit_admin answers for a team or the unit."""
    if subject.kind == "person":
        return viewer.sub == subject.person_id
    return is_unit_admin(case, viewer)


def _answering_subject(case: Case, viewer: Viewer, subject_id: str | None) -> Subject:
    """The subject this viewer answers for (EXE-12): named by subject_id, or the only one they may answer for."""
    if subject_id is not None:
        subject = case.subject(subject_id)
        if not acts_for(case, subject, viewer):
            raise Forbidden("only the subject (for a team or the unit: the unit's unit_admin) may do this")
        return subject
    mine = [s for s in case.subjects if acts_for(case, s, viewer)]
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise Forbidden("only the subject (for a team or the unit: the unit's unit_admin) may do this")
    raise PolicyViolation("EXE-12", "the case has several subjects: name the one with subject_id")


def _named_subject(case: Case, subject_id: str | None) -> Subject:
    """The subject a determiner's record concerns: subject_id, which may be left out when there is one subject."""
    if subject_id is not None:
        return case.subject(subject_id)
    if len(case.subjects) == 1:
        return case.subjects[0]
    raise PolicyViolation("EXE-12", "the case has several subjects: name the one with subject_id")


# ---- transitions ---------------------------------------------------------------------------------

def check_transition(case: Case, action: str) -> None:
    """The transition table decides whether `action` is possible in the case's state (409 with the rule)."""
    allowed, _, rule = TRANSITIONS[action]
    if case.state not in allowed:
        raise InvalidState(f"{action} is not possible while the case is {case.state}", rule=rule)


def _enter(case: Case, action: str, actor: str, now: datetime, subject_id: str | None = None) -> Case:
    """Return a copy in the action's next state with a history entry."""
    check_transition(case, action)
    target = TRANSITIONS[action][1]
    updated = case.model_copy(deep=True)
    if target is not None:
        updated.state = target  # type: ignore[assignment]
    updated.history.append(HistoryEntry(at=now, action=action, state=updated.state, actor=actor, subject_id=subject_id))
    return updated


def review_deadline_after(delivered_at: datetime, review_request_days: int) -> datetime:
    """EXE-8: the window runs review_request_days × 24 h from delivery (whole seconds)."""
    return delivered_at.replace(microsecond=0) + timedelta(days=review_request_days)


def review_window_open(deadline: datetime, now: datetime) -> bool:
    """EXE-8: a request is in time up to and including the last second named by the deadline."""
    return now < deadline + WINDOW_GRANULARITY


def _subject_from(index: int, draft: SubjectEntryDraft) -> Subject:
    """EXE-12 / SCO-2: a person has a role; a team has members; the unit is itself."""
    subject_id = f"s{index}"
    if draft.kind not in SUBJECT_KINDS:
        raise PolicyViolation("EXE-12", f"a subject is a {', a '.join(SUBJECT_KINDS)}, not {draft.kind!r}")
    if draft.kind == "person":
        if draft.person_id is None or draft.role is None or draft.members:
            raise PolicyViolation("EXE-12", "a person subject has a person_id and a role, and no members")
        check_subject(draft.role, draft.leader_rank)
        return Subject(id=subject_id, kind="person", person_id=draft.person_id, name=draft.name, role=draft.role,
                       leader_rank=draft.leader_rank)
    if draft.person_id is not None or draft.role is not None or draft.leader_rank is not None:
        raise PolicyViolation("EXE-12", f"a {draft.kind} subject has no person_id, role or leader_rank")
    if draft.kind == "team":
        if not draft.members:
            raise PolicyViolation("EXE-12", "a team subject names its members")
        for member in draft.members:
            check_subject(member.role, None)
        members = [Member(**m.model_dump()) for m in draft.members]
        return Subject(id=subject_id, kind="team", name=draft.name, members=members)
    if draft.members:
        raise PolicyViolation("EXE-12", "the unit as a subject has no members")
    return Subject(id=subject_id, kind="unit", name=draft.name)


def subject_roles(case: Case) -> list[str]:
    """The role each subject's clauses follow (EXE-1/2): a person's own, researchers for a team, leaders' for the unit."""
    return [clause_role(s.kind, s.role) for s in case.subjects]


def open_case(
    *, case_id: str, unit_id: str, viewer: Viewer, subjects: list[SubjectEntryDraft], matter: MatterDraft,
    claimed_clauses: list[str], now: datetime,
) -> Case:
    """Open a case about one or more subjects (EXE-12, SCO-2) and the clauses claimed for them (EXE-1 / EXE-2)."""
    if not subjects:
        raise PolicyViolation("EXE-12", "a case concerns at least one subject")
    built = [_subject_from(index, draft) for index, draft in enumerate(subjects, start=1)]
    people = [p for s in built for p in sorted(s.persons)]
    if len(people) != len(set(people)):
        raise PolicyViolation("EXE-12", "a person can be only one subject of a case (as a person or a team member)")
    if sum(s.kind == "unit" for s in built) > 1:
        raise PolicyViolation("EXE-12", "the unit can be a subject only once")
    if viewer.sub in people:
        raise PolicyViolation("EXE-6", "the subject may not open or handle their own case")
    if matter.loss_amount is not None and matter.loss_amount < Decimal("0"):
        raise InvalidInput("loss_amount cannot be negative")
    case = Case(
        id=case_id, unit_id=unit_id, state="investigating", subjects=built, matter=matter,
        claimed_clauses=[], opened_at=now,
    )
    case.claimed_clauses = check_positive_clauses(subject_roles(case), claimed_clauses, at_least_one=True)
    case.history.append(HistoryEntry(at=now, action="open", state=case.state, actor=viewer.sub))
    return case


def set_panel(case: Case, *, viewer: Viewer, panel: PanelDraft, now: datetime) -> Case:
    """EXE-4: a working group (≥ 1 member) or an entrusted third party (named); EXE-6: every subject stays out."""
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
    persons = case.persons
    if any(member.person_id in persons for member in panel.members):
        raise PolicyViolation("EXE-6", "a subject may not be a member of the panel")
    if panel.third_party is not None and panel.third_party.contact is not None and panel.third_party.contact.person_id in persons:
        raise PolicyViolation("EXE-6", "a subject may not be the third party's contact")
    updated = _enter(case, "set_panel", viewer.sub, now)
    updated.panel = Panel(mode=panel.mode, members=panel.members, third_party=panel.third_party, set_at=now)
    return updated


def add_evidence(
    case: Case, *, viewer: Viewer, evidence_id: str, evidence: EvidenceDraft | EvidenceFileDraft, now: datetime
) -> Case:
    """EXE-5: evidence collected objectively, as a reference or a file with its SHA-256 (DOC-1)."""
    _require_determiner(case, viewer, panel_may=True)
    check_transition(case, "add_evidence")
    if evidence.kind not in EVIDENCE_KINDS:
        raise InvalidInput(f"evidence kind is one of {', '.join(EVIDENCE_KINDS)} (pricing_record is attached by the system)")
    updated = _enter(case, "add_evidence", viewer.sub, now)
    document = evidence.document if isinstance(evidence, EvidenceFileDraft) else None
    updated.evidence.append(Evidence(
        id=evidence_id, kind=evidence.kind, title=evidence.title, reference=evidence.reference, document=document,
        recorded_at=now, recorded_by=viewer.sub,
    ))
    return updated


def record_statement(case: Case, *, viewer: Viewer, statement: StatementDraft, today: date, now: datetime) -> Case:
    """EXE-5: a subject's opinion heard (heard_on + summary) or their refusal documented (documented_on)."""
    _require_determiner(case, viewer, panel_may=True)
    check_transition(case, "record_statement")
    subject = _named_subject(case, statement.subject_id)
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
    updated = _enter(case, "record_statement", viewer.sub, now, subject.id)
    updated.statements.append(Statement(recorded_at=now, **{**statement.model_dump(), "subject_id": subject.id}))
    return updated


def record_negative_finding(case: Case, *, viewer: Viewer, finding_id: str, finding: FindingDraft, now: datetime) -> Case:
    """EXE-3: a confirmed negative-list finding (G7.1–G7.5, by the role of the subject it concerns)."""
    _require_determiner(case, viewer, panel_may=True)
    check_transition(case, "record_negative_finding")
    if finding.subject_id is not None:
        subject = case.subject(finding.subject_id)
        check_negative_clause([clause_role(subject.kind, subject.role)], finding.clause)
    else:
        check_negative_clause(subject_roles(case), finding.clause)
    updated = _enter(case, "record_negative_finding", viewer.sub, now, finding.subject_id)
    updated.negative_findings.append(Finding(id=finding_id, recorded_at=now, **finding.model_dump()))
    return updated


def prerequisites(case: Case, *, pricing_steps: int) -> dict[str, bool]:
    """EXE-5: panel formed, at least one piece of evidence (an attached pricing record counts), every subject heard."""
    heard = {statement.subject_id for statement in case.statements}
    return {
        "panel": case.panel is not None,
        "evidence": bool(case.evidence) or pricing_steps > 0,
        "statement": all(subject.id in heard for subject in case.subjects),
    }


def allowed_conclusions(case: Case, *, pricing_steps: int) -> list[str]:
    """EXE-3/EXE-5: none before the prerequisites, only does_not_meet with a negative finding, else all three."""
    if not all(prerequisites(case, pricing_steps=pricing_steps).values()):
        return []
    if case.negative_findings:
        return ["does_not_meet"]
    return list(CONCLUSIONS)


def _check_conclusion(case: Case, conclusion: str, improvements: list[str], direct_cause: bool | None, rule: str) -> None:
    """EXE-7 (the three conclusions, basically_meets' two findings) and EXE-3 (negative findings), at every level."""
    if conclusion not in CONCLUSIONS:
        raise PolicyViolation(rule, f"the conclusion is one of {', '.join(CONCLUSIONS)}")
    if conclusion == "basically_meets":
        if not [i for i in improvements if i.strip()]:
            raise PolicyViolation("EXE-7", "basically_meets needs at least one improvement point")
        if direct_cause is not False:
            raise PolicyViolation("EXE-7", "basically_meets needs the finding shortcomings_direct_cause: false "
                                  "(发现的问题不是导致单位利益损失的直接原因)")
    if case.negative_findings and conclusion != "does_not_meet":
        clauses = ", ".join(f.clause for f in case.negative_findings)
        raise PolicyViolation("EXE-3", f"a confirmed negative finding ({clauses}) allows only does_not_meet")


def _check_decision(case: Case, draft: DecisionDraft, *, pricing_steps: int, min_attendees: int, today: date) -> Meeting:
    """EXE-5 (prerequisites, collective decision), EXE-6 (recusal), EXE-7 (conclusions), EXE-3, EXE-1/2 (clauses)."""
    missing = [name for name, met in prerequisites(case, pricing_steps=pricing_steps).items() if not met]
    if missing:
        raise PolicyViolation("EXE-5", f"before concluding, record: {', '.join(missing)}")
    meeting = draft.meeting
    if meeting is None or not (meeting.body or "").strip() or meeting.held_on is None or not meeting.attendees:
        raise PolicyViolation("EXE-5", "a conclusion needs a collective decision: meeting body, held_on and attendees")
    if meeting.held_on > today:
        raise PolicyViolation("EXE-5", "the decision meeting cannot be held on a future day")
    if case.persons & set(meeting.attendees):
        raise PolicyViolation("EXE-6", "a subject may not attend the decision meeting")
    attendees = list(dict.fromkeys(a.strip() for a in meeting.attendees if a.strip()))
    needed = max(min_attendees, MIN_MEETING_ATTENDEES_FLOOR)
    if len(attendees) < needed:
        raise PolicyViolation("EXE-5", f"a collective decision needs at least {needed} distinct attendees "
                              f"(the unit's min_meeting_attendees); {len(attendees)} named")
    _check_conclusion(case, draft.conclusion, draft.improvements, draft.shortcomings_direct_cause, "EXE-7")
    roles = subject_roles(case)
    if draft.conclusion != "does_not_meet":
        check_positive_clauses(roles, draft.clauses, at_least_one=True)
    elif any(c not in case.claimed_clauses and not c.startswith("G7.") for c in draft.clauses):
        raise PolicyViolation(positive_rule(roles), "a decision cites claimed clauses or G7.x findings")
    return Meeting(body=(meeting.body or "").strip(), held_on=meeting.held_on, attendees=attendees)


def _decision(case: Case, draft: DecisionDraft, meeting: Meeting, kind: str, review_request_days: int, now: datetime) -> Decision:
    return Decision(
        kind=kind, meeting=meeting, conclusion=draft.conclusion, clauses=list(dict.fromkeys(draft.clauses)),
        reasoning=draft.reasoning, improvements=[i for i in draft.improvements if i.strip()],
        shortcomings_direct_cause=draft.shortcomings_direct_cause, decided_at=now,
        review_deadline=review_deadline_after(now, review_request_days),
    )


def _deliver_by_default(case: Case, decision: Decision) -> None:
    """EXE-8: until a delivery is recorded, the decision's instant counts as delivery to every subject."""
    for subject in case.subjects:
        subject.delivered_at = decision.decided_at
        subject.delivery_method = None
        subject.review_deadline = decision.review_deadline
        subject.answer = "awaiting"


def decide(
    case: Case, *, viewer: Viewer, draft: DecisionDraft, pricing_steps: int, review_request_days: int,
    min_attendees: int, today: date, now: datetime,
) -> Case:
    """The collective decision (EXE-5/6/7, EXE-3), to be delivered to every subject with its review window (EXE-8)."""
    _require_determiner(case, viewer, panel_may=False)
    check_transition(case, "decide")
    meeting = _check_decision(case, draft, pricing_steps=pricing_steps, min_attendees=min_attendees, today=today)
    updated = _enter(case, "decide", viewer.sub, now)
    updated.decisions.append(_decision(case, draft, meeting, "initial", review_request_days, now))
    _deliver_by_default(updated, updated.decisions[-1])
    return updated


def deliver(case: Case, *, viewer: Viewer, draft: DeliveryDraft, review_request_days: int, now: datetime) -> Case:
    """EXE-8: record the conclusion's delivery (送达) to a subject, or to every subject still awaiting it; the window runs from it."""
    _require_determiner(case, viewer, panel_may=False)
    check_transition(case, "deliver")
    if draft.delivered_at.tzinfo is None:
        raise InvalidInput("delivered_at needs an offset, e.g. 2030-01-01T09:00:00+08:00")
    decided_at = case.decisions[-1].decided_at
    if draft.delivered_at < decided_at.replace(microsecond=0):
        raise PolicyViolation("EXE-8", f"the conclusion cannot be delivered before it was decided ({decided_at.isoformat()})")
    if draft.delivered_at > now:
        raise PolicyViolation("EXE-8", "a delivery cannot be recorded for a future instant")
    if draft.subject_id is not None:
        targets = [case.subject(draft.subject_id)]
        if targets[0].answer not in ("awaiting", "window_expired"):
            raise InvalidState(f"subject {targets[0].id} has already answered the conclusion ({targets[0].answer})", rule="EXE-8")
    else:
        targets = [s for s in case.subjects if s.answer in ("awaiting", "window_expired")]
        if not targets:
            raise InvalidState("every subject has already answered the conclusion", rule="EXE-8")
    updated = case.model_copy(deep=True)
    for target in targets:
        updated = _enter(updated, "deliver", viewer.sub, now, target.id)
        subject = updated.subject(target.id)
        subject.delivered_at = draft.delivered_at
        subject.delivery_method = draft.method.strip()
        subject.review_deadline = review_deadline_after(draft.delivered_at, review_request_days)
        subject.answer = "awaiting"
    return updated


def _close_when_answered(case: Case, now: datetime, actor: str) -> Case:
    """EXE-8/EXE-12: the case closes once every subject confirmed or let its review window pass."""
    if case.state not in TRANSITIONS["close"][0] or not all(s.answer in SETTLED_ANSWERS for s in case.subjects):
        return case
    updated = _enter(case, "close", actor, now)
    updated.closed_reason = "confirmed" if all(s.answer == "confirmed" for s in case.subjects) else "review_window_expired"
    return updated


def advance(case: Case, now: datetime) -> Case:
    """EXE-8: a subject whose window passed without a request lets the conclusion stand; then the case may close."""
    if case.state not in RESPONDING:
        return case
    updated = case
    for subject in sorted(case.subjects, key=lambda s: (s.review_deadline or now, s.id)):
        if subject.answer == "awaiting" and subject.review_deadline is not None and not review_window_open(subject.review_deadline, now):
            expired_at = subject.review_deadline + WINDOW_GRANULARITY
            updated = _enter(updated, "expire_review_window", "system", expired_at, subject.id)
            updated.subject(subject.id).answer = "window_expired"
            updated = _close_when_answered(updated, expired_at, "system")
    return updated


def confirm(case: Case, *, viewer: Viewer, subject_id: str | None = None, now: datetime) -> Case:
    """EXE-8: a subject (for a team or the unit: the unit_admin) confirms the conclusion delivered to it."""
    subject = _answering_subject(case, viewer, subject_id)
    check_transition(case, "confirm")
    if subject.answer not in ("awaiting", "review_rejected"):
        raise InvalidState(f"subject {subject.id} cannot confirm now ({subject.answer})", rule="EXE-8")
    updated = _enter(case, "confirm", viewer.sub, now, subject.id)
    updated.subject(subject.id).answer = "confirmed"
    return _close_when_answered(updated, now, viewer.sub)


def request_review(case: Case, *, viewer: Viewer, grounds: str, subject_id: str | None = None, now: datetime) -> Case:
    """EXE-8: a subject may ask for a review (复核) within review_request_days from delivery, never later."""
    subject = _answering_subject(case, viewer, subject_id)
    if subject.answer == "window_expired" or (
        subject.review_deadline is not None and subject.answer == "awaiting" and not review_window_open(subject.review_deadline, now)
    ):
        ended = subject.review_deadline.isoformat() if subject.review_deadline else "delivery"
        raise PolicyViolation("EXE-8", f"the review window ended at {ended}")
    check_transition(case, "request_review")
    if subject.answer != "awaiting":
        raise InvalidState(f"subject {subject.id} cannot request a review now ({subject.answer})", rule="EXE-8")
    updated = _enter(case, "request_review", viewer.sub, now, subject.id)
    updated.subject(subject.id).answer = "review_requested"
    updated.reviews.append(Review(subject_id=subject.id, grounds=grounds, requested_at=now))
    return updated


def decide_review(
    case: Case, *, viewer: Viewer, outcome: ReviewOutcomeDraft, pricing_steps: int, review_request_days: int,
    min_attendees: int, today: date, now: datetime,
) -> Case:
    """EXE-9: a wrong conclusion is re-determined (EXE-3/5/6/7 again); otherwise a written explanation is mandatory."""
    _require_determiner(case, viewer, panel_may=False)
    pending = [index for index, review in enumerate(case.reviews) if review.outcome is None]
    if outcome.accepted:
        check_transition(case, "accept_review")
        if outcome.decision is None:
            raise PolicyViolation("EXE-9", "an accepted review needs the re-determination (decision)")
        meeting = _check_decision(case, outcome.decision, pricing_steps=pricing_steps, min_attendees=min_attendees, today=today)
        updated = _enter(case, "accept_review", viewer.sub, now)
        updated.decisions.append(_decision(case, outcome.decision, meeting, "re_determination", review_request_days, now))
        _deliver_by_default(updated, updated.decisions[-1])  # a new conclusion: every subject answers it afresh
    else:
        check_transition(case, "reject_review")
        if not (outcome.explanation or "").strip():
            raise PolicyViolation("EXE-9", "not accepting a review needs a written explanation")
        updated = _enter(case, "reject_review", viewer.sub, now)
        for subject in updated.subjects:
            if subject.answer == "review_requested":
                subject.answer = "review_rejected"
    for index in pending:
        updated.reviews[index].outcome = "accepted" if outcome.accepted else "rejected"
        updated.reviews[index].explanation = None if outcome.accepted else outcome.explanation
        updated.reviews[index].decided_at = now
    return updated


def escalate(case: Case, *, viewer: Viewer, draft: EscalationDraft, now: datetime) -> Case:
    """EXE-10: a subject still objecting after the review — rejected or re-determined — the unit applies in writing to the province."""
    _require_determiner(case, viewer, panel_may=False)
    check_transition(case, "escalate")
    if case.state == "awaiting_confirmation" and (not case.reviews or case.decisions[-1].kind != "re_determination"):
        raise InvalidState("escalation follows a review: rejected, or answered by a re-determination", rule="EXE-10")
    if not (draft.application_reference or "").strip() or not (draft.subject_objection or "").strip():
        raise PolicyViolation("EXE-10", "the written application needs application_reference and subject_objection")
    updated = _enter(case, "escalate", viewer.sub, now)
    updated.escalation = Escalation(
        application_reference=draft.application_reference, subject_objection=draft.subject_objection, escalated_at=now
    )
    return updated


def determine(case: Case, *, viewer: Viewer, draft: DeterminationDraft, now: datetime) -> Case:
    """EXE-10: the provincial office's joint determination by ≥ 2 departments (an open list); EXE-3/7 apply; closes the case."""
    if "provincial_office" not in viewer.roles:
        raise Forbidden("only the provincial S&T office records the joint determination")
    check_transition(case, "determine")
    departments = list(dict.fromkeys(d.strip() for d in draft.departments if d.strip()))
    if len(departments) < MIN_DEPARTMENTS or len(departments) != len(draft.departments):
        raise PolicyViolation("EXE-10", "a joint determination names at least two distinct departments "
                              "({departments} or others by name), none blank or repeated", departments=", ".join(DEPARTMENTS))
    _check_conclusion(case, draft.conclusion, draft.improvements, draft.shortcomings_direct_cause, "EXE-10")
    updated = _enter(case, "determine", viewer.sub, now)
    updated.determination = Determination(
        departments=departments, conclusion=draft.conclusion, reasoning=draft.reasoning,
        improvements=[i for i in draft.improvements if i.strip()],
        shortcomings_direct_cause=draft.shortcomings_direct_cause, determined_at=now,
    )
    updated.closed_reason = "joint_determination"
    return updated
