"""Request and response models of the exemption API (API.md §5)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts.common import Money, Strict
from exemption.domain.assessment import Assessment, RecordStep
from exemption.domain.cases import (
    Decision,
    DecisionDraft,
    DeliveryDraft,
    Determination,
    DeterminationDraft,
    DocumentRef,
    Escalation,
    EscalationDraft,
    EvidenceDraft,
    Finding,
    FindingDraft,
    HistoryEntry,
    MatterDraft,
    Panel,
    PanelDraft,
    Review,
    ReviewOutcomeDraft,
    Statement,
    StatementDraft,
    Subject,
    SubjectDraft,
    SubjectEntryDraft,
)
from exemption.domain.readiness import TransactionReadiness

PanelPut = PanelDraft
EvidenceCreate = EvidenceDraft
StatementCreate = StatementDraft
NegativeFindingCreate = FindingDraft
DecisionCreate = DecisionDraft
ReviewOutcomeCreate = ReviewOutcomeDraft
EscalationCreate = EscalationDraft
DeterminationCreate = DeterminationDraft
DeliveryCreate = DeliveryDraft
AssessmentRead = Assessment
ReadinessRead = TransactionReadiness


class CaseCreate(Strict):
    unit_id: str = Field(min_length=1, max_length=64)
    subject: SubjectDraft | None = Field(default=None, description="one person; or name several with `subjects`")
    subjects: list[SubjectEntryDraft] | None = Field(default=None, max_length=50, description="persons, a team, the unit (EXE-12)")
    matter: MatterDraft
    claimed_clauses: list[str] = Field(default_factory=list, max_length=10, description="G5.1 … G5.9 or G6")


class ReviewRequestCreate(Strict):
    grounds: str = Field(min_length=1, max_length=20000)
    subject_id: str | None = Field(default=None, max_length=64, description="which subject, when the case has several (EXE-12)")


class ConfirmationCreate(Strict):
    subject_id: str | None = Field(default=None, max_length=64, description="which subject, when the case has several (EXE-12)")


class MatterRead(BaseModel):
    summary: str
    loss_amount: Money | None
    transaction_id: str | None
    achievement_id: str | None


class EvidenceRead(BaseModel):
    id: str
    kind: str
    title: str
    reference: str | None
    document: DocumentRef | None = Field(default=None, description="the file and its SHA-256 (DOC-1)")
    recorded_at: datetime | None
    recorded_by: str
    steps: list[RecordStep] | None = Field(default=None, description="for kind pricing_record: the procedural record")


class CaseRead(BaseModel):
    id: str
    unit_id: str
    state: str
    closed: bool = Field(description="closed or determined: nothing more happens on the platform")
    subject: SubjectDraft | None = Field(description="the first subject when it is a person (kept for one-subject clients)")
    subjects: list[Subject]
    matter: MatterRead
    claimed_clauses: list[str]
    panel: Panel | None
    evidence: list[EvidenceRead]
    statements: list[Statement]
    negative_findings: list[Finding]
    decisions: list[Decision]
    conclusion: str | None
    review_deadline: datetime | None
    reviews: list[Review]
    escalation: Escalation | None
    determination: Determination | None
    closed_reason: str | None
    opened_at: datetime
    history: list[HistoryEntry]
    version: int
