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
    size: Literal["micro", "small", "medium", "large"] | None = Field(
        default=None, description="enterprise size; pay-later licences go to micro, small or medium ones (OWN-9)"
    )


class LicenceInput(Strict):
    """What a licence grants (OWN-16): its scope and term (no start: from the opening; no end: never ends)."""

    scope: Literal["exclusive", "sole", "ordinary"] = "ordinary"
    start_on: date | None = None
    end_on: date | None = None


class PaymentInput(Strict):
    """When the fee is paid (OWN-9, FIN-10)."""

    mode: Literal["at_conclusion", "pay_later"] = "at_conclusion"
    due_on: date | None = None
    conditions: str | None = Field(default=None, max_length=4000)


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
    licence: LicenceInput | None = Field(default=None, description="kind license only; scope defaults to ordinary")
    payment: PaymentInput | None = Field(default=None, description="mode defaults to at_conclusion; pay_later: OWN-9")
    technology_manager_ids: list[str] | None = Field(
        default=None, max_length=20, description="registered technology managers who brokered the deal (PRC-12)"
    )


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
    licence: dict[str, Any] | None = None
    payment: dict[str, Any]
    technology_manager_ids: list[str] = []
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


class ContactInput(Strict):
    """How to reach an objector: a name and a phone number or an e-mail address (PRC-5)."""

    name: str | None = Field(default=None, max_length=300)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=300)


class ObjectionCreate(Strict):
    reason: str = Field(min_length=1, max_length=4000)
    contact: ContactInput | None = Field(default=None, description="required without a token (PRC-5)")


class ObjectionRead(BaseModel):
    id: str
    notice_id: str
    reason: str
    anonymous: bool
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


class DocumentRead(BaseModel):
    """A document of a transaction (DOC-1): its id and SHA-256 are what the record and the event cite."""

    id: str
    sha256: str
    size: int
    media_type: str
    filename: str | None
    kind: str


class RecordItem(BaseModel):
    seq: int
    at: datetime
    step: str
    actor: str
    details: dict[str, Any]


class RecordRead(BaseModel):
    transaction_id: str
    items: list[RecordItem]
    next_cursor: str | None = Field(default=None, description="always null: the whole record is one page (API.md §2)")


class ChallengeCreate(Strict):
    direction: str = Field(max_length=40, description="technology_wanted | market_wanted (PRC-10)")
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(min_length=1, max_length=20000)
    publisher: Organisation
    achievement_id: str | None = Field(default=None, max_length=64)
    budget: Money | None = None
    field: str | None = Field(default=None, max_length=100, description="the industry field (required, PRC-10)")
    region: str | None = Field(default=None, max_length=100, description="required (PRC-10)")
    closes_on: date | None = Field(
        default=None, description="required (PRC-10): responses are accepted through the end of this day (Asia/Shanghai)"
    )


class ChallengeRead(BaseModel):
    id: str
    direction: str
    title: str
    description: str
    publisher: dict[str, Any]
    unit_id: str | None
    achievement_id: str | None
    budget: Money | None
    field: str | None
    region: str | None
    closes_on: date | None
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
