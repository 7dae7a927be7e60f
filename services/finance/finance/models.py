"""Finance tables."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import BigIntPK, ExactDecimal, UTCDateTime, Versioned, infrastructure, new_metadata
from servicekit.units import install_unit_policy_table


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)
UNIT_POLICIES = install_unit_policy_table(Base.metadata)


class Income(Versioned, Base):
    """FIN-1: one entry per concluded deal or pay-later licence fee, retained by the unit."""

    __tablename__ = "incomes"
    # The source's own id is unique, so a replayed event (even under a new event id) cannot double-book.
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_incomes_source_source_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    licence_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
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
    project_reference: Mapped[str] = mapped_column(String(300))
    surplus_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    cash_amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    technology_valuation: Mapped[Decimal] = mapped_column(ExactDecimal)
    state_equity_value: Mapped[Decimal] = mapped_column(ExactDecimal)
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


class Subsidy(Versioned, Base):
    """FIN-8: a reward-type post-subsidy."""

    __tablename__ = "subsidies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSON)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    basis_reference: Mapped[str] = mapped_column(String(300))
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Receivable(Versioned, Base):
    """FIN-9: the return agreed in an agreed_return equity transfer, contingent until listing or transfer."""

    __tablename__ = "receivables"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    achievement_id: Mapped[str] = mapped_column(String(64))
    equity_transfer_id: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    trigger_event: Mapped[str | None] = mapped_column(String(32), nullable=True)
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
