"""Evaluation tables: a read model built only from the KEZHUAN stream (EVA-2), in generations.

Every row belongs to a generation. Reads use the one `active` generation; a rebuild replays the
stream into a new `building` generation (the live consumer writes to it too) and swaps it in.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.db import ExactDecimal, UTCDateTime, infrastructure, new_metadata


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)


class Generation(Base):
    """One copy of the model: `active` (read), `building` (being rebuilt) or `retired` (being dropped)."""

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Rebuild(Base):
    """A rebuild of the model from the stream's first message (EVA-2)."""

    __tablename__ = "rebuilds"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    target_sequence: Mapped[int | None] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Renewed while a process replays; a stale heartbeat lets another replica take the rebuild over."""
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class UnitRow(Base):
    __tablename__ = "units"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")


class AchievementRow(Base):
    __tablename__ = "achievements"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500), default="")
    department: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(200))
    first_granted_on: Mapped[date | None] = mapped_column(Date)
    completer_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    national_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_achievements_generation_unit", "generation", "unit_id"),)


class CorrectionRow(Base):
    """An achievement correction (OWN-17), kept as it came so that applying in any order gives one result."""

    __tablename__ = "corrections"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    achievement_id: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    correction: Mapped[dict[str, Any]] = mapped_column(JSON)


class TechnologyManagerRow(Base):
    __tablename__ = "technology_managers"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    technology_manager_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str | None] = mapped_column(String(64))


class FactRow(Base):
    """One countable event (evaluation.domain.facts.Fact); the event id makes applying it idempotent."""

    __tablename__ = "facts"

    generation: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(128))
    unit_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    achievement_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(64))
    basis: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    ref_id: Mapped[str | None] = mapped_column(String(64))
    person_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_facts_generation_unit", "generation", "unit_id"),)
