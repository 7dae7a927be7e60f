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


class TransactionOpened(EventPayload):
    transaction_id: str
    unit_id: str
    achievement_id: str
    kind: str
    method: str


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


class ChallengeAwarded(EventPayload):
    challenge_id: str
    response_id: str
    publisher: dict[str, Any] | None = None
    responder: dict[str, Any] | None = None


class ChallengeLanded(EventPayload):
    challenge_id: str
    landed_on: str
    publisher: dict[str, Any] | None = None
    awarded_response_id: str | None = None
    responder: dict[str, Any] | None = None


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


class RewardGranted(EventPayload):
    reward_id: str
    unit_id: str
    income_id: str | None = None
    recipient_count: int | None = None


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


class SubsidyGranted(EventPayload):
    subsidy_id: str
    kind: str
    amount: Money
    basis_reference: str | None = None


CATALOGUE: dict[str, type[EventPayload]] = {
    "ownership.unit.registered": UnitRegistered,
    "ownership.unit.policy_changed": UnitPolicyChanged,
    "ownership.achievement.registered": AchievementRegistered,
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
    "exemption.case.opened": CaseOpened,
    "exemption.conclusion.issued": ConclusionIssued,
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
}
