"""Request and response models of the ownership API."""
from __future__ import annotations

from datetime import date, datetime
from datetime import date as datetime_date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from contracts.common import Money, Percent, Strict, UnitPolicy


class UnitPolicyInput(Strict):
    notice_days: int | None = Field(default=None, ge=1, le=365)
    review_request_days: int | None = Field(default=None, ge=1, le=365)
    patent_change_days: int | None = Field(default=None, ge=1, le=365)
    min_meeting_attendees: int | None = Field(default=None, le=1000, description="at least 2 (EXE-5); default 3")


class UnitCreate(Strict):
    name: str = Field(min_length=1, max_length=300)
    type: str = Field(description="university | research_institute | medical_institution (SCO-1)")
    central_in_liaoning: bool = False
    policy: UnitPolicyInput | None = None


class UnitRead(BaseModel):
    id: str
    name: str
    type: str
    central_in_liaoning: bool
    policy: UnitPolicy
    created_at: datetime
    version: int


AchievementKind = Literal["patent", "software", "know_how", "plant_variety", "ic_layout", "other"]
IpRightType = Literal[
    "invention_patent",
    "utility_model",
    "design_patent",
    "software_copyright",
    "plant_variety_right",
    "ic_layout_right",
    "other",
]
ComplianceKind = Literal["export_control", "secrecy_approval", "confidentiality_agreement", "ethics_review"]
Text300 = Annotated[str, Field(min_length=1, max_length=300)]


class IpRight(Strict):
    type: IpRightType
    number: Text300
    granted_on: date


class Completer(Strict):
    """A completer (成果完成人): a researcher in the sense of SCO-2."""

    person_id: Text300
    name: Text300


class Security(Strict):
    """Flags of M (十五): OWN-12 (national_interest), OWN-14 (classified, key_core_technology)."""

    national_interest: bool = False
    classified: bool = False
    key_core_technology: bool = False


class Decision(Strict):
    """The unit's decision (OWN-5); fields are optional here so a missing one is refused citing its rule."""

    body: str | None = Field(default=None, max_length=300)
    date: datetime_date | None = None
    reference: str | None = Field(default=None, max_length=300)


class Consent(Strict):
    """A recorded consent (OWN-4): who consented and on which day."""

    by: str | None = Field(default=None, max_length=300)
    on: date | None = None


class Party(Strict):
    name: Text300
    credit_code: Text300


class AchievementCreate(Strict):
    unit_id: Text300
    title: str = Field(min_length=1, max_length=500)
    kind: AchievementKind
    ip_rights: list[IpRight] = Field(default_factory=list, max_length=100)
    completers: list[Completer] = Field(min_length=1, max_length=200)
    security: Security = Field(default_factory=Security)
    ethics_review_required: bool = False
    department: Text300 | None = Field(default=None, description="the unit's internal department (院系), EVA-1")
    field: Text300 | None = Field(default=None, description="the industry field, EVA-1 and search")


class AchievementCorrection(Strict):
    """OWN-17: any of the correctable facts, with the reason for the correction (required)."""

    security: Security | None = None
    ethics_review_required: bool | None = None
    ip_rights: list[IpRight] | None = Field(default=None, max_length=100)
    completers: list[Completer] | None = Field(default=None, min_length=1, max_length=200)
    department: Text300 | None = None
    field: Text300 | None = None
    reason: str | None = Field(default=None, max_length=2000)


class ComplianceRecordCreate(Strict):
    kind: ComplianceKind
    reference: Text300
    recorded_on: date


class ComplianceRecordRead(BaseModel):
    id: str
    achievement_id: str
    kind: str
    reference: str
    recorded_on: date


class AchievementRead(BaseModel):
    id: str
    unit_id: str
    title: str
    kind: str
    status: str
    transformed: bool
    separately_managed: bool
    in_pool: bool
    pool_exclusion_reason: str | None
    ip_rights: list[IpRight]
    completers: list[Completer]
    security: Security
    ethics_review_required: bool
    department: str | None
    field: str | None
    compliance_records: list[ComplianceRecordRead]
    separate_management_decision: Decision | None
    created_at: datetime
    version: int


class SeparateManagementCreate(Strict):
    decision: Decision | None = None


class PoolExclusionCreate(Strict):
    reason: str | None = Field(default=None, max_length=2000)


class EmpowermentCreate(Strict):
    type: Literal["ownership", "usage_right"]
    team_share: Percent | None = None
    unit_share: Percent | None = None
    start_on: date | None = None
    end_on: date | None = None
    decision: Decision | None = None
    overseas: bool = False


class PatentChangeRead(BaseModel):
    state: Literal["pending", "overdue", "registered"]
    due_on: date
    registered_on: date | None = None
    reference: str | None = None


class EmpowermentRead(BaseModel):
    id: str
    achievement_id: str
    unit_id: str
    type: str
    state: Literal["active", "expired"]
    team_share: Percent | None
    unit_share: Percent | None
    start_on: date | None
    end_on: date | None
    overseas: bool
    decision: Decision
    recorded_on: date
    patent_change: PatentChangeRead
    extensions: list[dict[str, Any]]
    conversion: dict[str, Any] | None
    created_at: datetime
    version: int


class PatentChangeCreate(Strict):
    registered_on: date
    reference: Text300


class ExtensionCreate(Strict):
    new_end_on: date
    decision: Decision | None = None


class ConversionCreate(Strict):
    team_share: Percent | None = None
    unit_share: Percent | None = None
    unit_consent: Consent | None = None
    team_consent: Consent | None = None


class EquityTransferCreate(Strict):
    mode: Literal["resource_fee", "agreed_return"]
    fee: Money | None = None
    enterprise: Party | None = None
    decision: Decision | None = None


class EquityTransferRead(BaseModel):
    id: str
    achievement_id: str
    empowerment_id: str
    unit_id: str
    mode: str
    fee: Money | None
    enterprise: Party | None
    team_share: Percent
    unit_share: Percent
    transferred_share: Percent
    decision: Decision
    created_at: datetime
    version: int


class PoolItem(BaseModel):
    achievement_id: str
    title: str
    kind: str
    ip_rights: list[IpRight]
    held_since: date


class PoolPublicationRead(BaseModel):
    unit_id: str
    number: int
    published_at: datetime
    items: list[PoolItem]
    next_cursor: str | None = Field(default=None, description="always null: the whole publication is one page (API.md §2)")


class LedgerItem(BaseModel):
    """A separate-ledger line (OWN-7): a separately managed achievement or state equity."""

    kind: Literal["achievement", "state_equity"]
    achievement_id: str | None = None
    title: str | None = None
    decision: Decision | None = None
    since: datetime | None = None
    source: Literal["horizontal_investment", "deal"] | None = None
    investment_id: str | None = None
    transaction_id: str | None = None
    enterprise: dict[str, Any] | None = None
    value: Money | None = None


class SeparateLedgerRead(BaseModel):
    unit_id: str
    items: list[LedgerItem]
    next_cursor: str | None = Field(default=None, description="always null: the whole ledger is one page (API.md §2)")


# --- rights record (OWN-16) -------------------------------------------------------------------


class UsageRightRead(BaseModel):
    empowerment_id: str
    start_on: date | None
    end_on: date | None


class LicenceRead(BaseModel):
    transaction_id: str
    licensee: dict[str, Any]
    scope: Literal["exclusive", "sole", "ordinary"]
    start_on: date | None
    end_on: date | None
    pay_later: bool
    price: Money


class DisposalRead(BaseModel):
    """A concluded transfer or investment (or a horizontal-fund technology stake, `source`)."""

    transaction_id: str
    counterparty: dict[str, Any]
    price: Money
    concluded_at: datetime
    source: Literal["deal", "horizontal_investment"]


class RightsRead(BaseModel):
    """Who holds what of one achievement (OWN-16), as pricing checks it (PRC-11)."""

    achievement_id: str
    unit_id: str
    status: Literal["held", "partly_disposed", "disposed"]
    unit_share: Percent
    team_share: Percent
    usage_rights: list[UsageRightRead]
    licences: list[LicenceRead]
    transfers: list[DisposalRead]
    investments: list[DisposalRead]
    open_transaction_ids: list[str]
    version: int


# --- institutions and technology managers (ORG-1, ORG-2) ------------------------------------


class InstitutionCreate(Strict):
    kind: Literal["transfer_office", "science_park", "incubator"]
    name: Text300
    unit_ids: list[Text300] = Field(default_factory=list, max_length=50)
    level: Literal["national", "provincial", "municipal", "other"] | None = None


class EvaluationCreate(Strict):
    year: int = Field(ge=1949, le=9999)
    rating: Literal["excellent", "good", "pass", "fail"]
    evaluated_by: Text300


class EvaluationRead(BaseModel):
    id: str
    institution_id: str
    year: int
    rating: str
    evaluated_by: str
    created_at: datetime


class InstitutionRead(BaseModel):
    id: str
    kind: str
    name: str
    unit_ids: list[str]
    level: str | None
    evaluations: list[EvaluationRead]
    created_at: datetime
    version: int


class Certificate(Strict):
    number: Text300
    level: Text300


class TechnologyManagerCreate(Strict):
    person_id: Text300
    name: Text300
    certificate: Certificate
    unit_id: Text300 | None = None
    institution_id: Text300 | None = None


class DealCount(BaseModel):
    count: int
    amount: Money


class TechnologyManagerRead(BaseModel):
    id: str
    person_id: str
    name: str
    certificate: Certificate
    unit_id: str | None
    institution_id: str | None
    deals: DealCount
    created_at: datetime
    version: int
