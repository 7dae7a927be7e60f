"""Request and response models of the finance API."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.common import Money, Percent, Strict


class Party(Strict):
    name: str = Field(min_length=1, max_length=300)
    credit_code: str = Field(min_length=1, max_length=64)


class Consent(Strict):
    by: str = Field(min_length=1, max_length=200)
    on: date


class Decision(Strict):
    body: str = Field(min_length=1, max_length=300)
    date: date
    reference: str = Field(min_length=1, max_length=300)


class IncomeRead(BaseModel):
    id: str
    unit_id: str
    source: Literal["deal", "licence_payment", "resource_fee", "agreed_return"]
    transaction_id: str | None = None
    receivable_id: str | None = None
    equity_transfer_id: str | None = None
    licence_id: str | None = Field(default=None, description="only on pay-later fees booked by the first revision")
    achievement_id: str
    kind: str | None = None
    amount: Money
    retained_by_unit: bool
    recorded_at: datetime
    version: int


class RecipientInput(Strict):
    person_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    role: Literal["leader", "manager", "researcher"]
    leader_rank: Literal["principal", "deputy"] | None = None
    form: Literal["cash", "shares", "contribution"]
    amount: Money | None = None
    share_pct: Percent | None = None
    contribution_note: str | None = Field(
        default=None, max_length=2000, description="the important contribution to the transformation (FIN-6), for a non-completer"
    )


class RewardCreate(Strict):
    unit_id: str = Field(min_length=1, max_length=64)
    income_id: str | None = Field(default=None, max_length=64)
    achievement_id: str | None = Field(default=None, max_length=64)
    recipients: list[RecipientInput] = Field(min_length=1, max_length=500)


class RecipientRead(BaseModel):
    person_id: str
    name: str
    role: str
    leader_rank: str | None = None
    form: str
    amount: Money | None = None
    share_pct: Percent | None = None
    basis: Literal["completer", "contribution"] | None = None
    contribution_note: str | None = None
    counts_in_performance_pay_total: bool | None = None
    in_next_year_base: bool | None = None
    in_social_insurance_base: bool | None = None


class RewardRead(BaseModel):
    id: str
    unit_id: str
    income_id: str | None = None
    achievement_id: str | None = None
    recipients: list[RecipientRead]
    granted_at: datetime
    version: int


class FundCreate(Strict):
    name: str = Field(min_length=1, max_length=300)
    contribution: Money


class ContributionCreate(Strict):
    amount: Money
    source: str = Field(min_length=1, max_length=300)


class FundRead(BaseModel):
    id: str
    name: str
    balance: Money
    contributed: Money
    disbursed: Money
    exit_proceeds: Money
    created_at: datetime
    version: int


class LedgerEntryRead(BaseModel):
    seq: int
    kind: Literal["contribution", "disbursement", "exit"]
    amount: Money
    project_id: str | None = None
    reference: str
    at: datetime


class ProjectCreate(Strict):
    fund_id: str = Field(min_length=1, max_length=64)
    enterprise: Party
    achievement_id: str | None = Field(default=None, max_length=64)


class TrancheCreate(Strict):
    stage: Literal["concept_verification", "small_trial", "pilot", "industrialization"]
    amount: Money


class ConversionCreate(Strict):
    trigger: Literal["market_financing", "stable_stage"]
    round_reference: str = Field(min_length=1, max_length=300)
    post_money_valuation: Money


class ExitCreate(Strict):
    equity_pct: Percent
    proceeds: Money


class TrancheRead(BaseModel):
    stage: str
    amount: Money
    disbursed_at: datetime


class ConversionRead(BaseModel):
    trigger: str
    round_reference: str
    post_money_valuation: Money
    converted_at: datetime


class ExitRead(BaseModel):
    equity_pct: Percent
    proceeds: Money
    exited_at: datetime


class ProjectRead(BaseModel):
    id: str
    fund_id: str
    enterprise: Party
    achievement_id: str | None = None
    state: Literal["investing", "converted", "exited"]
    disbursed: Money
    equity_pct: Percent | None = None
    exit_proceeds: Money
    tranches: list[TrancheRead]
    conversion: ConversionRead | None = None
    exits: list[ExitRead]
    version: int


class HorizontalInvestmentCreate(Strict):
    unit_id: str = Field(min_length=1, max_length=64)
    achievement_id: str = Field(min_length=1, max_length=64, description="the technology stake; it becomes transformed (FIN-2)")
    project_reference: str = Field(min_length=1, max_length=300)
    surplus_amount: Money
    cash_amount: Money
    technology_valuation: Money
    enterprise: Party
    researcher_share_pct: Percent
    exception_reason: str | None = Field(default=None, max_length=2000)
    unit_consent: Consent | None = Field(default=None, description="required (FIN-2); missing → 422 FIN-2")


class HorizontalInvestmentRead(BaseModel):
    id: str
    unit_id: str
    achievement_id: str | None = None
    project_reference: str
    surplus_amount: Money
    cash_amount: Money
    technology_valuation: Money
    stake_value: Money
    unit_share_pct: Percent
    state_equity_value: Money = Field(description="the unit's part of the stake, separately managed (FIN-2)")
    enterprise: Party
    researcher_share_pct: Percent
    exception_reason: str | None = None
    unit_consent: Consent
    separately_managed: bool = True
    recorded_at: datetime
    version: int


class SubsidyCreate(Strict):
    kind: Literal["challenge_award", "science_park", "incubator"]
    recipient: Party
    amount: Money
    basis_reference: str = Field(min_length=1, max_length=300, description="for challenge_award: the challenge id")
    institution_id: str | None = Field(default=None, min_length=1, max_length=64)
    evaluation_year: int | None = Field(default=None, ge=1900, le=9999)


class SubsidyRead(BaseModel):
    id: str
    kind: str
    recipient: Party
    amount: Money
    basis_reference: str
    institution_id: str | None = None
    evaluation_year: int | None = None
    granted_at: datetime
    version: int


class ReceivableRead(BaseModel):
    id: str
    unit_id: str
    achievement_id: str
    kind: Literal["agreed_return", "pay_later"]
    state: Literal["contingent", "due", "overdue", "settled", "paid", "waived"]
    amount: Money | None = None
    due_on: date | None = None
    conditions: str | None = None
    transaction_id: str | None = None
    equity_transfer_id: str | None = None
    enterprise: dict[str, Any] | None = None
    trigger_event: str | None = None
    opened_at: datetime
    due_at: datetime | None = None
    overdue_at: datetime | None = None
    settled_at: datetime | None = None
    settlement: dict[str, Any] | None = None
    payment: dict[str, Any] | None = None
    waiver: dict[str, Any] | None = None
    income_id: str | None = None
    version: int


class TriggerCreate(Strict):
    event: Literal["listing", "equity_transfer"]
    amount: Money


class SettlementCreate(Strict):
    amount: Money
    settled_on: date


class PaymentCreate(Strict):
    amount: Money
    paid_on: date


class WaiverCreate(Strict):
    decision: Decision | None = Field(default=None, description="the unit's decision; missing → 422 FIN-10")
    reason: str | None = Field(default=None, max_length=2000, description="required; missing → 422 FIN-10")


ProductKind = Literal["transformation_loan", "transformation_insurance", "rd_loss_insurance", "guarantee"]


class ProductCreate(Strict):
    kind: ProductKind
    name: str = Field(min_length=1, max_length=300)
    provider: Party
    terms: str | dict[str, Any] = Field(description="the product's terms: text or an object (rate, term, limits …)")


class ProductRead(BaseModel):
    id: str
    kind: ProductKind
    name: str
    provider: Party
    terms: str | dict[str, Any]
    created_at: datetime
    version: int


class UptakeCreate(Strict):
    enterprise: Party
    transaction_id: str = Field(min_length=1, max_length=64, description="the concluded deal (FIN-11)")
    amount: Money
    start_on: date


class UptakeRead(BaseModel):
    id: str
    product_id: str
    product_kind: ProductKind
    enterprise: Party
    transaction_id: str
    amount: Money
    start_on: date
    created_at: datetime
    version: int


class PoolCreate(Strict):
    name: str = Field(min_length=1, max_length=300)
    contribution: Money
    ratio_pct: Percent = Field(description="share of a loss compensated: 0 < ratio ≤ 100.00 (FIN-11)")


class PoolContributionCreate(Strict):
    amount: Money
    source: str = Field(min_length=1, max_length=300)


class PoolRead(BaseModel):
    id: str
    name: str
    ratio_pct: Percent
    balance: Money
    contributed: Money
    compensated: Money
    created_at: datetime
    version: int


class ClaimCreate(Strict):
    uptake_id: str = Field(min_length=1, max_length=64)
    loss_amount: Money
    reference: str = Field(min_length=1, max_length=300)


class ClaimRead(BaseModel):
    id: str
    pool_id: str
    uptake_id: str
    loss_amount: Money
    compensation: Money
    reference: str
    created_at: datetime
    version: int
