"""Ownership tables."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import ExactDecimal, UTCDateTime, Versioned, infrastructure, new_metadata


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)


class Unit(Versioned, Base):
    __tablename__ = "units"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(40))
    central_in_liaoning: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_days: Mapped[int] = mapped_column(Integer)
    review_request_days: Mapped[int] = mapped_column(Integer)
    patent_change_days: Mapped[int] = mapped_column(Integer)
    min_meeting_attendees: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Achievement(Versioned, Base):
    """A job-related S&T achievement held by a unit; `first_granted_on` drives pool eligibility (OWN-10)."""

    __tablename__ = "achievements"
    # A unit's list and pool pages are keyset-paginated by id: this index serves them in order, so a
    # page reads ~50 rows instead of sorting all of the unit's achievements (bench scenario 4).
    __table_args__ = (Index("ix_achievements_unit_id_id", "unit_id", "id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40))
    ip_rights: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    completers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    first_granted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    national_interest: Mapped[bool] = mapped_column(Boolean)
    classified: Mapped[bool] = mapped_column(Boolean)
    key_core_technology: Mapped[bool] = mapped_column(Boolean)
    ethics_review_required: Mapped[bool] = mapped_column(Boolean)
    department: Mapped[str | None] = mapped_column(String(300), nullable=True)
    field: Mapped[str | None] = mapped_column(String(300), nullable=True)
    rights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The rights record (OWN-16): licences in force, transfers, investments, open and closed transactions."""
    transformed: Mapped[bool] = mapped_column(Boolean, default=False)
    transformed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    separately_managed: Mapped[bool] = mapped_column(Boolean, default=False)
    separate_decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    separately_managed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pool_excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    pool_exclusion_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ComplianceRecord(Base):
    """Export-control, secrecy, confidentiality or ethics record (OWN-13/14/15); append-only."""

    __tablename__ = "compliance_records"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64), ForeignKey("achievements.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(300))
    recorded_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Empowerment(Versioned, Base):
    """Ownership or usage right granted to the team, with its patent-change follow-up (OWN-1…6)."""

    __tablename__ = "empowerments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64), ForeignKey("achievements.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(20))
    team_share: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    unit_share: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    start_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    overseas: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_on: Mapped[date] = mapped_column(Date)
    patent_change_state: Mapped[str] = mapped_column(String(20), index=True)
    patent_change_due_on: Mapped[date] = mapped_column(Date)
    patent_change_registered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    patent_change_reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    extensions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    conversion: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EquityTransfer(Versioned, Base):
    """The unit's retained share passed to the team (OWN-11)."""

    __tablename__ = "equity_transfers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64), ForeignKey("achievements.id"), index=True)
    empowerment_id: Mapped[str] = mapped_column(String(64), ForeignKey("empowerments.id"))
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(20))
    fee: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    enterprise: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    transferred_share: Mapped[Decimal] = mapped_column(ExactDecimal)
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StateEquity(Base):
    """State equity in the unit's separate ledger (OWN-7, FIN-2); one per investment or deal."""

    __tablename__ = "state_equity"
    __table_args__ = (
        UniqueConstraint("investment_id", name="uq_state_equity_investment_id"),
        UniqueConstraint("transaction_id", name="uq_state_equity_transaction_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(40))
    investment_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    achievement_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enterprise: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConcludedDeal(Base):
    """A pricing deal as learnt from `pricing.deal.concluded`; its key makes the effect happen once."""

    __tablename__ = "concluded_deals"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    counterparty: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PricingTransaction(Base):
    """A pricing transaction as ownership learnt it from pricing's events (OWN-16): `open` until it is
    `concluded`, or `closed` by a withdrawal or an auction without a winner."""

    __tablename__ = "pricing_transactions"
    __table_args__ = (Index("ix_pricing_transactions_achievement_id_state", "achievement_id", "state"),)

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    scope: Mapped[str | None] = mapped_column(String(20), nullable=True)
    start_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    opened_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    last_step: Mapped[str | None] = mapped_column(String(40), nullable=True)


class Institution(Versioned, Base):
    """A transfer office, university science park or incubator (ORG-1)."""

    __tablename__ = "institutions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(300))
    unit_ids: Mapped[list[str]] = mapped_column(JSON)
    level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstitutionUnit(Base):
    """Which units an institution serves, so `?unit_id=` finds it by index (ORG-1)."""

    __tablename__ = "institution_units"

    institution_id: Mapped[str] = mapped_column(String(64), ForeignKey("institutions.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"), primary_key=True, index=True)


class InstitutionEvaluation(Base):
    """An institution's annual evaluation; one per year (ORG-1)."""

    __tablename__ = "institution_evaluations"
    __table_args__ = (UniqueConstraint("institution_id", "year", name="uq_institution_evaluations_institution_id_year"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), ForeignKey("institutions.id"))
    year: Mapped[int] = mapped_column(Integer)
    rating: Mapped[str] = mapped_column(String(20))
    evaluated_by: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TechnologyManager(Versioned, Base):
    """A registered technology manager (技术经理人) with certificate and unit or institution (ORG-2)."""

    __tablename__ = "technology_managers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(300))
    certificate: Mapped[dict[str, Any]] = mapped_column(JSON)
    unit_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("units.id"), nullable=True)
    institution_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("institutions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TechnologyManagerDeal(Base):
    """A concluded deal that names a technology manager (PRC-12), counted for them (ORG-2)."""

    __tablename__ = "technology_manager_deals"

    technology_manager_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    price: Mapped[Decimal] = mapped_column(ExactDecimal)
    concluded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PoolPublication(Base):
    """An immutable, numbered snapshot of a unit's pool (OWN-10)."""

    __tablename__ = "pool_publications"
    __table_args__ = (UniqueConstraint("unit_id", "number", name="uq_pool_publications_unit_id_number"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), ForeignKey("units.id"))
    number: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
