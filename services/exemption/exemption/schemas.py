"""Request and response models of the exemption API (API.md §5)."""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from contracts.common import Money, Strict
from exemption.domain.assessment import Assessment, RecordStep
from exemption.domain.cases import (
    Decision,
    DecisionDraft,
    Determination,
    DeterminationDraft,
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
    SubjectDraft,
)

PanelPut = PanelDraft
EvidenceCreate = EvidenceDraft
StatementCreate = StatementDraft
NegativeFindingCreate = FindingDraft
DecisionCreate = DecisionDraft
ReviewOutcomeCreate = ReviewOutcomeDraft
EscalationCreate = EscalationDraft
DeterminationCreate = DeterminationDraft
AssessmentRead = Assessment


class CaseCreate(Strict):
    unit_id: str = Field(min_length=1, max_length=64)
    subject: SubjectDraft
    matter: MatterDraft
    claimed_clauses: list[str] = Field(default_factory=list, max_length=10, description="G5.1 … G5.9 or G6")


class ReviewRequestCreate(Strict):
    grounds: str = Field(min_length=1, max_length=20000)


class Empty(Strict):
    """Action endpoints without a body take `{}` (or nothing)."""


class MatterRead(BaseModel):
    summary: str
    loss_amount: Money | None
    transaction_id: str | None
    achievement_id: str | None


class EvidenceRead(BaseModel):
    id: str
    kind: str
    title: str
    reference: str
    recorded_at: datetime | None
    recorded_by: str
    steps: list[RecordStep] | None = Field(default=None, description="for kind pricing_record: the procedural record")


class CaseRead(BaseModel):
    id: str
    unit_id: str
    state: str
    subject: SubjectDraft
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
