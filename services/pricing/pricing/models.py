"""Pricing tables."""
from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from servicekit.db import infrastructure, new_metadata
from servicekit.units import install_unit_policy_table


class Base(DeclarativeBase):
    metadata: MetaData = new_metadata()


INFRA = infrastructure(Base.metadata)
UNIT_POLICIES = install_unit_policy_table(Base.metadata)
