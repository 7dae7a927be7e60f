"""Request and response models of the ownership API."""
from __future__ import annotations

from datetime import datetime
from pydantic import BaseModel, ConfigDict, Field

from contracts.common import UnitPolicy


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class UnitPolicyInput(Strict):
    notice_days: int | None = Field(default=None, ge=1, le=365)
    review_request_days: int | None = Field(default=None, ge=1, le=365)
    patent_change_days: int | None = Field(default=None, ge=1, le=365)


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
