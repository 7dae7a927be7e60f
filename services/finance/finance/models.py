"""Finance tables."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import BigIntPK, ExactDecimal, UTCDateTime, Versioned, infrastructure, new_metadata
from servicekit.units import install_unit_policy_table


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)
UNIT_POLICIES = install_unit_policy_table(Base.metadata)


class Income(Versioned, Base):
    """FIN-1: one entry per sum the unit received (a deal paid at conclusion, a licence payment, a
    resource fee, a settled agreed return), retained by the unit."""

    __tablename__ = "incomes"
    # The source's own id is unique, so a replayed event (even under a new event id) cannot double-book.
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_incomes_source_source_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    licence_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Only on incomes of the first revision, booked when a pay-later licence was granted."""
    receivable_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    equity_transfer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    achievement_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    retained_by_unit: Mapped[bool] = mapped_column(Boolean, default=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Reward(Versioned, Base):
    """FIN-6/7: a reward decision of a unit, with its recipients."""

    __tablename__ = "rewards"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    income_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    achievement_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RewardRecipient(Base):
    """One person's reward; a cash reward carries the three FIN-7 flags."""

    __tablename__ = "reward_recipients"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    reward_id: Mapped[str] = mapped_column(ForeignKey("rewards.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    leader_rank: Mapped[str | None] = mapped_column(String(16), nullable=True)
    form: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    share_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    basis: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """FIN-6: `completer` (among the achievement's completers) or `contribution` (a recorded contribution)."""
    contribution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    counts_in_performance_pay_total: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    in_next_year_base: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    in_social_insurance_base: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Fund(Versioned, Base):
    """A fiscal S&T fund run invest-first-equity-later (FIN-3/4/5); totals mirror its ledger."""

    __tablename__ = "funds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    contributed: Mapped[Decimal] = mapped_column(ExactDecimal)
    disbursed: Mapped[Decimal] = mapped_column(ExactDecimal)
    exit_proceeds: Mapped[Decimal] = mapped_column(ExactDecimal)
    balance: Mapped[Decimal] = mapped_column(ExactDecimal)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FundLedgerEntry(Base):
    """Append-only: every movement of a fund, numbered 1, 2, 3 … per fund; the totals are recomputable."""

    __tablename__ = "fund_ledger"
    __table_args__ = (UniqueConstraint("fund_id", "seq", name="uq_fund_ledger_fund_id_seq"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reference: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InvestFirstProject(Versioned, Base):
    """A project the platform company funds first and converts to equity later (FIN-3/4/5)."""

    __tablename__ = "invest_first_projects"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"), index=True)
    enterprise: Mapped[dict[str, Any]] = mapped_column(JSON)
    achievement_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    disbursed: Mapped[Decimal] = mapped_column(ExactDecimal)
    exit_proceeds: Mapped[Decimal] = mapped_column(ExactDecimal)
    tranches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conversion: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    equity_pct: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    exits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HorizontalInvestment(Versioned, Base):
    """FIN-2: horizontal-project surplus funds invested as technology stake + cash stake."""

    __tablename__ = "horizontal_investments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    project_reference: Mapped[str] = mapped_column(String(300))
    surplus_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    cash_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    technology_valuation: Mapped[Decimal] = mapped_column(ExactDecimal)
    state_equity_value: Mapped[Decimal] = mapped_column(ExactDecimal)
    """FIN-2: the unit's agreed part of the stake (first revision: the whole stake)."""
    enterprise: Mapped[dict[str, Any]] = mapped_column(JSON)
    researcher_share_pct: Mapped[Decimal] = mapped_column(ExactDecimal)
    exception_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    consent_by: Mapped[str] = mapped_column(String(200))
    consent_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LandedChallenge(Base):
    """A two-way challenge pricing announced as landed: it may receive a challenge award (FIN-8)."""

    __tablename__ = "landed_challenges"

    challenge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    landed_on: Mapped[str | None] = mapped_column(String(10), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class InstitutionEvaluation(Base):
    """ORG-1 as learnt from `ownership.institution.evaluated`: one rating per institution and year (FIN-8)."""

    __tablename__ = "institution_evaluations"
    __table_args__ = (UniqueConstraint("institution_id", "year", name="uq_institution_evaluations_institution_id_year"),)

    evaluation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    year: Mapped[int] = mapped_column(Integer)
    rating: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class KnownAchievement(Base):
    """An achievement's completers as learnt from ownership's events: whom FIN-6 lets be rewarded."""

    __tablename__ = "known_achievements"

    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    completers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """The achievement's version in ownership: a late, older correction never overwrites a newer one."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConcludedDeal(Base):
    """A deal as learnt from `pricing.deal.concluded`: its key makes the effect happen once (FIN-1, FIN-11)."""

    __tablename__ = "concluded_deals"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    achievement_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    payment_mode: Mapped[str] = mapped_column(String(16))
    counterparty: Mapped[dict[str, Any]] = mapped_column(JSON)
    concluded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Subsidy(Versioned, Base):
    """FIN-8: a reward-type post-subsidy; the unique keys make each award once."""

    __tablename__ = "subsidies"
    __table_args__ = (
        UniqueConstraint("challenge_id", name="uq_subsidies_challenge_id"),
        UniqueConstraint("institution_id", "evaluation_year", name="uq_subsidies_institution_id_evaluation_year"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    basis_reference: Mapped[str] = mapped_column(String(300))
    challenge_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    institution_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evaluation_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Receivable(Versioned, Base):
    """FIN-9 agreed return (contingent until listing or transfer) or FIN-10 pay-later fee (due until paid)."""

    __tablename__ = "receivables"
    __table_args__ = (Index("ix_receivables_state_due_on", "state", "due_on"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), server_default="agreed_return")
    equity_transfer_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    enterprise: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    trigger_event: Mapped[str | None] = mapped_column(String(32), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    conditions: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settlement: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    payment: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    waiver: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    income_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FinancialProduct(Versioned, Base):
    """FIN-11: a support product a financial institution offers for transformation."""

    __tablename__ = "financial_products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(300))
    provider: Mapped[dict[str, Any]] = mapped_column(JSON)
    terms: Mapped[Any] = mapped_column(JSON)
    registered_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Uptake(Versioned, Base):
    """FIN-11: an enterprise's uptake of a product, linked to a concluded deal."""

    __tablename__ = "uptakes"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("financial_products.id"), index=True)
    product_kind: Mapped[str] = mapped_column(String(32))
    enterprise: Mapped[dict[str, Any]] = mapped_column(JSON)
    transaction_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    start_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskCompensationPool(Versioned, Base):
    """FIN-11: a pool funded like a fund; its totals mirror its ledger (contributed = compensated + balance)."""

    __tablename__ = "risk_compensation_pools"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    ratio_pct: Mapped[Decimal] = mapped_column(ExactDecimal)
    contributed: Mapped[Decimal] = mapped_column(ExactDecimal)
    compensated: Mapped[Decimal] = mapped_column(ExactDecimal)
    balance: Mapped[Decimal] = mapped_column(ExactDecimal)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PoolLedgerEntry(Base):
    """Append-only: every movement of a pool, numbered 1, 2, 3 … per pool."""

    __tablename__ = "pool_ledger"
    __table_args__ = (UniqueConstraint("pool_id", "seq", name="uq_pool_ledger_pool_id_seq"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("risk_compensation_pools.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    reference: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Claim(Versioned, Base):
    """FIN-11: a compensated loss; the unique uptake makes it once per uptake, whatever the concurrency."""

    __tablename__ = "risk_compensation_claims"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("risk_compensation_pools.id"), index=True)
    uptake_id: Mapped[str] = mapped_column(ForeignKey("uptakes.id"), unique=True)
    loss_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    compensation: Mapped[Decimal] = mapped_column(ExactDecimal)
    reference: Mapped[str] = mapped_column(String(300))
    claimed_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
