"""Event catalogue: every event type with its payload schema (API.md §7).

Payload models document the events (AsyncAPI is generated from them); changes are additive.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.common import Money, UnitPolicy


class EventPayload(BaseModel):
    """Base of every payload: unknown fields are kept so that additive changes never break."""

    model_config = ConfigDict(extra="allow")


class UnitRegistered(EventPayload):
    unit_id: str
    name: str
    type: str
    central_in_liaoning: bool = False
    policy: UnitPolicy
    version: int = 1


class UnitPolicyChanged(EventPayload):
    unit_id: str
    policy: UnitPolicy
    version: int


class AchievementRegistered(EventPayload):
    achievement_id: str
    unit_id: str
    title: str
    kind: str
    department: str | None = None
    field: str | None = None
    ip_rights: list[dict[str, Any]] = []
    """`[{type, number, granted_on}]`: the grant dates feed EVA-1's days from grant to deal."""
    completers: list[dict[str, Any]] = []
    """`[{person_id, name}]`: the researchers whose indicators this achievement counts for (EVA-1)."""
    security: dict[str, Any] | None = None
    """`{national_interest, classified, key_core_technology}`: a national-interest flag keeps it out of the pool (OWN-12)."""


class AchievementCorrected(EventPayload):
    """OWN-17: a correction with its reason; carries the corrected facts as they now stand."""

    achievement_id: str
    unit_id: str
    reason: str
    changed: list[str]
    """The names of the corrected fields (`security`, `ip_rights`, `completers`, `department` …)."""
    security: dict[str, Any] | None = None
    ethics_review_required: bool | None = None
    ip_rights: list[dict[str, Any]] | None = None
    completers: list[dict[str, Any]] | None = None
    department: str | None = None
    field: str | None = None
    version: int | None = None


class PoolExclusionChanged(EventPayload):
    """OWN-10/OWN-17: a pool exclusion set (`excluded: true`, with its reason) or removed."""

    achievement_id: str
    unit_id: str
    excluded: bool
    reason: str | None = None


class ComplianceRecorded(EventPayload):
    """OWN-13/14/15/17: a compliance record (export control, secrecy approval, confidentiality, ethics)."""

    record_id: str
    achievement_id: str
    unit_id: str
    kind: str
    reference: str
    recorded_on: str


class InstitutionEvaluated(EventPayload):
    """ORG-1: an institution's annual evaluation; FIN-8 awards follow its rating."""

    institution_id: str
    evaluation_id: str
    kind: str
    """`transfer_office`, `science_park` or `incubator`."""
    name: str
    unit_ids: list[str]
    level: str | None = None
    year: int
    rating: str
    evaluated_by: str


class EmpowermentGranted(EventPayload):
    empowerment_id: str
    achievement_id: str
    unit_id: str
    type: str
    team_share: Money | None = None
    unit_share: Money | None = None
    start_on: str | None = None
    end_on: str | None = None
    patent_change_due_on: str | None = None


class PatentChangeRegistered(EventPayload):
    empowerment_id: str
    achievement_id: str
    unit_id: str
    registered_on: str
    reference: str


class PatentChangeOverdue(EventPayload):
    empowerment_id: str
    achievement_id: str
    unit_id: str
    due_on: str


class UsageRightConverted(EventPayload):
    empowerment_id: str
    achievement_id: str
    unit_id: str
    team_share: Money | None = None
    unit_share: Money | None = None


class UsageRightExtended(EventPayload):
    empowerment_id: str
    achievement_id: str
    unit_id: str
    end_on: str


class AchievementSeparatelyManaged(EventPayload):
    achievement_id: str
    unit_id: str
    decision: dict[str, Any] | None = None


class EquityTransferCompleted(EventPayload):
    equity_transfer_id: str
    achievement_id: str
    unit_id: str
    mode: str
    fee: Money | None = None
    enterprise: dict[str, Any] | None = None
    empowerment_id: str | None = None
    transferred_share: Money | None = None


class LicenceGranted(EventPayload):
    licence_id: str
    achievement_id: str
    unit_id: str
    fee: Money
    licensee: dict[str, Any]
    payment_due_on: str | None = None
    payment_conditions: str | None = None


class PoolPublished(EventPayload):
    unit_id: str
    number: int
    item_count: int
    publication_id: str | None = None
    achievement_ids: list[str] | None = None


class TechnologyManagerRegistered(EventPayload):
    """ORG-2: a registered technology manager (技术经理人); the evaluation service counts their deals by this id."""

    technology_manager_id: str
    person_id: str
    name: str
    unit_id: str | None = None
    institution_id: str | None = None
    certificate: dict[str, Any] | None = None


class TransactionOpened(EventPayload):
    transaction_id: str
    unit_id: str
    achievement_id: str
    kind: str
    method: str
    licence: dict[str, Any] | None = None
    """`{scope: exclusive|sole|ordinary, start_on, end_on}` for a licence, else null."""
    payment: dict[str, Any] | None = None
    """`{mode: at_conclusion|pay_later, due_on, conditions}`."""
    technology_manager_ids: list[str] = []


class NoticePublished(EventPayload):
    notice_id: str
    transaction_id: str
    unit_id: str
    price: Money
    starts_at: str
    ends_at: str


class NoticeObjected(EventPayload):
    notice_id: str
    transaction_id: str
    unit_id: str


class NoticeClosed(EventPayload):
    notice_id: str
    transaction_id: str
    unit_id: str
    objected: bool


class ListingPublished(EventPayload):
    listing_id: str
    transaction_id: str
    unit_id: str
    price: Money


class ListingExpired(EventPayload):
    listing_id: str
    transaction_id: str
    unit_id: str


class DealConcluded(EventPayload):
    transaction_id: str
    unit_id: str
    achievement_id: str
    kind: str
    price: Money
    counterparty: dict[str, Any]
    basis: str
    concluded_at: str | None = None
    method: str | None = None
    licence: dict[str, Any] | None = None
    """`{scope: exclusive|sole|ordinary, start_on, end_on}` for a licence (dates may be null), else null."""
    payment: dict[str, Any] = {"mode": "at_conclusion", "due_on": None, "conditions": None}
    """`{mode: at_conclusion|pay_later, due_on, conditions}`: pay_later opens a receivable (FIN-10), no income yet."""
    technology_manager_ids: list[str] = []
    """PRC-12: the registered technology managers who brokered the deal (ORG-2 counts them)."""


class ChallengeAwarded(EventPayload):
    challenge_id: str
    response_id: str
    publisher: dict[str, Any] | None = None
    responder: dict[str, Any] | None = None
    direction: str | None = None
    enterprise: dict[str, Any] | None = None
    """PRC-10: the enterprise entitled to the subsidy (publisher of technology_wanted, awarded responder of market_wanted)."""


class ChallengeLanded(EventPayload):
    challenge_id: str
    landed_on: str
    publisher: dict[str, Any] | None = None
    awarded_response_id: str | None = None
    responder: dict[str, Any] | None = None
    direction: str | None = None
    enterprise: dict[str, Any] | None = None
    """PRC-10/FIN-8: the enterprise entitled to the one challenge_award subsidy."""


class DocumentAttached(EventPayload):
    """DOC-1: a document attached to a transaction; the hash proves the file unchanged."""

    document_id: str
    transaction_id: str
    unit_id: str
    sha256: str
    size: int
    kind: str
    media_type: str | None = None
    filename: str | None = None


class RecordAppended(EventPayload):
    """PRC-9: one step of a transaction's procedural record; `seq` is 1, 2, 3 … per transaction."""

    transaction_id: str
    unit_id: str
    achievement_id: str
    seq: int
    at: str
    step: str
    actor: str
    details: dict[str, Any]


class CaseOpened(EventPayload):
    case_id: str
    unit_id: str


class ConclusionIssued(EventPayload):
    case_id: str
    unit_id: str
    conclusion: str


class CaseDocumentAttached(EventPayload):
    """DOC-1: an evidence file attached to a case; the hash proves the file unchanged (no title: the case is confidential)."""

    case_id: str
    unit_id: str
    evidence_id: str
    document_id: str
    sha256: str
    size: int
    media_type: str | None = None


class ConclusionDelivered(EventPayload):
    """EXE-8: the conclusion's delivery to a subject; the review window runs from it."""

    case_id: str
    unit_id: str
    delivered_at: str
    review_deadline: str
    subject_id: str | None = None


class ReviewRequested(EventPayload):
    case_id: str
    unit_id: str


class ReviewDecided(EventPayload):
    case_id: str
    unit_id: str
    accepted: bool


class CaseEscalated(EventPayload):
    case_id: str
    unit_id: str


class DeterminationIssued(EventPayload):
    case_id: str
    unit_id: str
    conclusion: str


class IncomeRecorded(EventPayload):
    income_id: str
    unit_id: str
    source: str
    amount: Money
    achievement_id: str
    transaction_id: str | None = None
    licence_id: str | None = None
    retained_by_unit: bool = True
    receivable_id: str | None = None
    """FIN-10/FIN-9: the receivable whose payment or settlement this income is."""


class RewardGranted(EventPayload):
    reward_id: str
    unit_id: str
    income_id: str | None = None
    recipient_count: int | None = None
    achievement_id: str | None = None
    recipients: list[dict[str, Any]] = []
    """`[{person_id, role, form, amount, share_pct}]`: EVA-1 counts rewards paid by form."""


class ReceivableOpened(EventPayload):
    """FIN-9/FIN-10: a receivable opened (`pay_later`: a concluded pay-later licence; `agreed_return`)."""

    receivable_id: str
    unit_id: str
    achievement_id: str
    kind: str
    state: str
    amount: Money | None = None
    due_on: str | None = None
    conditions: str | None = None
    transaction_id: str | None = None


class ReceivableOverdue(EventPayload):
    """FIN-10: a pay-later receivable whose due date passed unpaid."""

    receivable_id: str
    unit_id: str
    achievement_id: str
    amount: Money | None = None
    due_on: str


class ReceivablePaid(EventPayload):
    """FIN-10: a pay-later receivable paid; its income is recorded (FIN-1)."""

    receivable_id: str
    unit_id: str
    achievement_id: str
    amount: Money
    paid_on: str
    income_id: str


class ReceivableWaived(EventPayload):
    """FIN-10: a pay-later receivable waived by a unit decision with a reason."""

    receivable_id: str
    unit_id: str
    achievement_id: str
    amount: Money | None = None
    reason: str


class ReceivableSettled(EventPayload):
    """FIN-9: an agreed-return receivable settled; its income is recorded (FIN-1)."""

    receivable_id: str
    unit_id: str
    achievement_id: str
    amount: Money
    settled_on: str
    income_id: str | None = None


class RiskCompensationPaid(EventPayload):
    """FIN-11: a risk-compensation pool paid a claim on a loan or insurance uptake."""

    claim_id: str
    pool_id: str
    uptake_id: str
    compensation: Money
    loss_amount: Money


class TrancheDisbursed(EventPayload):
    project_id: str
    fund_id: str
    stage: str
    amount: Money


class EquityConverted(EventPayload):
    project_id: str
    fund_id: str
    equity_pct: Money


class ExitRecorded(EventPayload):
    project_id: str
    fund_id: str
    equity_pct: Money
    proceeds: Money


class HorizontalInvestmentRecorded(EventPayload):
    investment_id: str
    unit_id: str
    enterprise: dict[str, Any]
    technology_valuation: Money
    cash_amount: Money
    researcher_share_pct: Money
    state_equity_value: Money | None = None
    project_reference: str | None = None
    achievement_id: str | None = None
    """FIN-2: the achievement put in as the technology stake; it counts as transformed."""


class SubsidyGranted(EventPayload):
    subsidy_id: str
    kind: str
    amount: Money
    basis_reference: str | None = None
    recipient: dict[str, Any] | None = None
    institution_id: str | None = None
    evaluation_year: int | None = None


CATALOGUE: dict[str, type[EventPayload]] = {
    "ownership.unit.registered": UnitRegistered,
    "ownership.unit.policy_changed": UnitPolicyChanged,
    "ownership.achievement.registered": AchievementRegistered,
    "ownership.achievement.corrected": AchievementCorrected,
    "ownership.pool.exclusion_changed": PoolExclusionChanged,
    "ownership.compliance.recorded": ComplianceRecorded,
    "ownership.institution.evaluated": InstitutionEvaluated,
    "ownership.technology_manager.registered": TechnologyManagerRegistered,
    "ownership.empowerment.granted": EmpowermentGranted,
    "ownership.patent_change.registered": PatentChangeRegistered,
    "ownership.patent_change.overdue": PatentChangeOverdue,
    "ownership.usage_right.converted": UsageRightConverted,
    "ownership.usage_right.extended": UsageRightExtended,
    "ownership.achievement.separately_managed": AchievementSeparatelyManaged,
    "ownership.equity_transfer.completed": EquityTransferCompleted,
    "ownership.licence.granted": LicenceGranted,
    "ownership.pool.published": PoolPublished,
    "pricing.transaction.opened": TransactionOpened,
    "pricing.notice.published": NoticePublished,
    "pricing.notice.objected": NoticeObjected,
    "pricing.notice.closed": NoticeClosed,
    "pricing.listing.published": ListingPublished,
    "pricing.listing.expired": ListingExpired,
    "pricing.deal.concluded": DealConcluded,
    "pricing.challenge.awarded": ChallengeAwarded,
    "pricing.challenge.landed": ChallengeLanded,
    "pricing.record.appended": RecordAppended,
    "pricing.document.attached": DocumentAttached,
    "exemption.case.opened": CaseOpened,
    "exemption.conclusion.issued": ConclusionIssued,
    "exemption.conclusion.delivered": ConclusionDelivered,
    "exemption.case.document_attached": CaseDocumentAttached,
    "exemption.review.requested": ReviewRequested,
    "exemption.review.decided": ReviewDecided,
    "exemption.case.escalated": CaseEscalated,
    "exemption.determination.issued": DeterminationIssued,
    "finance.income.recorded": IncomeRecorded,
    "finance.reward.granted": RewardGranted,
    "finance.tranche.disbursed": TrancheDisbursed,
    "finance.equity.converted": EquityConverted,
    "finance.exit.recorded": ExitRecorded,
    "finance.horizontal_investment.recorded": HorizontalInvestmentRecorded,
    "finance.subsidy.granted": SubsidyGranted,
    "finance.receivable.opened": ReceivableOpened,
    "finance.receivable.overdue": ReceivableOverdue,
    "finance.receivable.paid": ReceivablePaid,
    "finance.receivable.waived": ReceivableWaived,
    "finance.receivable.settled": ReceivableSettled,
    "finance.risk_compensation.paid": RiskCompensationPaid,
}
