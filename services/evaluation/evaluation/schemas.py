"""Evaluation responses (API.md §6b): counts and days are JSON numbers, amounts money strings."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import Money


class DealsByKind(BaseModel):
    transfer: int
    license: int
    investment: int


class DealsByBasis(BaseModel):
    notice_clear: int
    listing_expired: int
    delisted: int
    auction: int


class EmpowermentsByType(BaseModel):
    ownership: int
    usage_right: int


class Conclusions(BaseModel):
    meets: int
    basically_meets: int
    does_not_meet: int


class RewardsPaid(BaseModel):
    cash: Money = Field(description="cash rewards paid, as money")
    shares: int = Field(description="share rewards granted (recipients)")
    contribution: int = Field(description="capital-contribution rewards granted (recipients)")


class Quantity(BaseModel):
    achievements_registered: int
    empowerments: EmpowermentsByType
    transactions_opened: int
    deals: DealsByKind
    deals_by_basis: DealsByBasis
    pay_later_licences: int
    pool_size: int = Field(description="pay-later pool members at the year's end (today, for the current year)")
    pool_transformed: int = Field(description="pool members transformed during the year")


class Quality(BaseModel):
    median_days_grant_to_deal: int | float | None = Field(description="median days from the first IP grant to the deal")
    notices_published: int
    notices_objected: int
    listings_delisted: int
    exemption_conclusions: Conclusions = Field(description="cases by their latest conclusion of the year; counts only")


class Benefit(BaseModel):
    deal_amount: Money
    income_received: Money
    rewards_paid: RewardsPaid
    state_equity_formed: Money
    receivables_outstanding: Money = Field(description="at the year's end (today, for the current year)")


class Indicators(BaseModel):
    quantity: Quantity
    quality: Quality
    benefit: Benefit


class UnitIndicators(Indicators):
    """EVA-1 for one unit and year."""

    unit_id: str
    year: int


class DepartmentIndicators(Indicators):
    department: str


class DepartmentPage(BaseModel):
    """A unit's internal departments (院系/内设机构), one row each."""

    items: list[DepartmentIndicators]
    next_cursor: str | None = None


class ResearcherIndicators(Indicators):
    """EVA-1 over the achievements the researcher completed."""

    person_id: str
    year: int


class TechnologyManagerIndicators(Indicators):
    """EVA-1 over the transactions and deals naming the technology manager (ORG-2, PRC-12)."""

    technology_manager_id: str
    year: int


class ProvinceRow(Indicators):
    unit_id: str
    unit_name: str


class ProvinceTable(BaseModel):
    """The province: one row per unit, and the totals over all units."""

    year: int
    items: list[ProvinceRow]
    totals: Indicators
    next_cursor: str | None = None


class RebuildRead(BaseModel):
    """A rebuild of the read model from the stream's first message (EVA-2)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    state: Literal["running", "done"]
    events: int
