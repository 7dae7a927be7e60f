"""Request and response models of the pricing API."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.common import Money, Strict

Text300 = Field(min_length=1, max_length=300)


class Organisation(Strict):
    """A party named by name and unified social credit code."""

    name: str = Field(min_length=1, max_length=300)
    credit_code: str = Field(min_length=1, max_length=64)


class Party(Organisation):
    """A counterparty, delisting party or bidder (OWN-13/14, PRC-1)."""

    kind: Literal["enterprise", "individual"]
    ownership: Literal["wholly_state_owned", "other"]
    overseas: bool = False


class AppraisalInput(Strict):
    """The unit's appraisal decision (PRC-2)."""

    performed: bool
    value: Money | None = None
    report_reference: str | None = Field(default=None, max_length=300)


class TransactionCreate(Strict):
    achievement_id: str = Field(min_length=1, max_length=64)
    kind: Literal["transfer", "license", "investment"]
    method: str = Field(max_length=40, description="agreement | listing | auction (PRC-3)")
    counterparty: Party | None = None
    proposed_price: Money | None = None
    appraisal: AppraisalInput | None = None


class DealRead(BaseModel):
    price: Money
    counterparty: dict[str, Any]
    basis: Literal["notice_clear", "listing_expired", "delisted", "auction"]
    concluded_at: datetime
    contract_reference: str | None = None
    signed_on: date | None = None


class TransactionRead(BaseModel):
    id: str
    unit_id: str
    achievement_id: str
    achievement_title: str
    kind: str
    method: str
    state: str
    counterparty: dict[str, Any] | None
    price: Money | None
    appraisal: dict[str, Any] | None
    notice_id: str | None = None
    listing_id: str | None = None
    auction_id: str | None = None
    deal: DealRead | None = None
    created_at: datetime
    version: int


class ActionBody(Strict):
    """Action endpoints take an empty body or `{}` (API.md §2)."""


class NoticeRead(BaseModel):
    id: str
    transaction_id: str
    unit_id: str
    achievement_title: str
    price: Money
    starts_at: datetime
    ends_at: datetime
    state: str
    objection_count: int
    version: int


class ObjectionCreate(Strict):
    reason: str = Field(min_length=1, max_length=4000)
    contact: str | None = Field(default=None, max_length=300)


class ObjectionRead(BaseModel):
    id: str
    notice_id: str
    reason: str
    received_at: datetime


class ListingCreate(Strict):
    exchange: str = Field(min_length=1, max_length=300)
    price: Money | None = None


class ListingRead(BaseModel):
    id: str
    transaction_id: str
    unit_id: str
    achievement_title: str
    exchange: str
    price: Money
    opens_at: datetime
    closes_at: datetime
    state: str
    version: int


class DelistingCreate(Strict):
    party: Party


class DelistingRead(BaseModel):
    listing_id: str
    transaction_id: str
    party: dict[str, Any]
    price: Money
    delisted_at: datetime
    transaction_state: str


class AuctionCreate(Strict):
    reserve_price: Money
    closes_at: datetime


class AuctionRead(BaseModel):
    id: str
    transaction_id: str
    unit_id: str
    reserve_price: Money
    opens_at: datetime
    closes_at: datetime
    state: str
    bid_count: int
    version: int


class BidCreate(Strict):
    party: Party
    amount: Money


class BidRead(BaseModel):
    id: str
    auction_id: str
    seq: int
    party: dict[str, Any]
    amount: Money
    placed_at: datetime


class ConclusionCreate(Strict):
    contract_reference: str = Field(min_length=1, max_length=300)
    signed_on: date


class RecordItem(BaseModel):
    seq: int
    at: datetime
    step: str
    actor: str
    details: dict[str, Any]


class RecordRead(BaseModel):
    transaction_id: str
    items: list[RecordItem]


class ChallengeCreate(Strict):
    direction: str = Field(max_length=40, description="technology_wanted | market_wanted (PRC-10)")
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(min_length=1, max_length=20000)
    publisher: Organisation
    achievement_id: str | None = Field(default=None, max_length=64)
    budget: Money | None = None


class ChallengeRead(BaseModel):
    id: str
    direction: str
    title: str
    description: str
    publisher: dict[str, Any]
    unit_id: str | None
    achievement_id: str | None
    budget: Money | None
    state: str
    awarded_response_id: str | None
    landed_on: date | None
    created_at: datetime
    version: int


class ChallengeResponseCreate(Strict):
    responder: Organisation
    proposal: str = Field(min_length=1, max_length=20000)


class ChallengeResponseRead(BaseModel):
    id: str
    challenge_id: str
    responder: dict[str, Any]
    proposal: str
    created_at: datetime


class AwardCreate(Strict):
    response_id: str = Field(min_length=1, max_length=64)


class LandingCreate(Strict):
    landed_on: date
    evidence: str = Field(min_length=1, max_length=4000)
