"""Exemption tables."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import ExactDecimal, UTCDateTime, Versioned, infrastructure, new_metadata
from servicekit.documents import install_document_tables
from servicekit.units import install_unit_policy_table


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)
UNIT_POLICIES = install_unit_policy_table(Base.metadata, extra_fields=("min_meeting_attendees",))  # EXE-5
DOCUMENTS = install_document_tables(Base.metadata)  # DOC-1: evidence files, owner_kind "exemption_case"


class ExemptionCase(Versioned, Base):
    """A case: the columns the queries need, and the domain case as one JSON document."""

    __tablename__ = "exemption_cases"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    subject_person_id: Mapped[str] = mapped_column(String(200), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    review_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """EXE-8: when the last open review window ends (the sweeper closes the case then)."""
    loss_amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PricingRecordStep(Base):
    """One step of a transaction's procedural record (PRC-9), shared by every case about that transaction."""

    __tablename__ = "pricing_record_steps"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unit_id: Mapped[str | None] = mapped_column(String(64))
    achievement_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    step: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class EmpoweredAchievement(Base):
    """EXE-13 / G5.4: an achievement ownership announced as empowered (ownership or long-term usage right)."""

    __tablename__ = "empowered_achievements"

    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    empowerment_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(20))
