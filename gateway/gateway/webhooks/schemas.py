"""Request and response bodies of /api/v1/webhooks."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, Field, field_validator

from contracts.events import CATALOGUE

_PATTERN = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")

DeliveryStatus = Literal["pending", "delivered", "failed"]


def check_event_type_pattern(pattern: str) -> str:
    """An exact event type, `prefix.*` (every type under the prefix) or `*` (every event)."""
    if not _PATTERN.match(pattern):
        raise ValueError(f"`{pattern}` is neither an event type nor a `prefix.*` pattern")
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        if not any(event_type.startswith(prefix) for event_type in CATALOGUE):
            raise ValueError(f"`{pattern}` matches no event type of the catalogue (/asyncapi.json)")
    elif pattern not in CATALOGUE:
        raise ValueError(f"`{pattern}` is not an event type of the catalogue (/asyncapi.json)")
    return pattern


class WebhookCreate(BaseModel):
    """Where to deliver which events."""

    event_types: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=50,
            description="exact event types (`pricing.deal.concluded`), prefixes (`pricing.*`) or `*`",
            examples=[["pricing.*", "finance.income.recorded"]],
        ),
    ]
    url: Annotated[AnyHttpUrl, Field(description="http(s) URL that receives POSTed CloudEvents")]
    description: Annotated[str | None, Field(max_length=500)] = None

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, patterns: list[str]) -> list[str]:
        return sorted({check_event_type_pattern(p) for p in patterns})

    @field_validator("url")
    @classmethod
    def _bounded_url(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(url)) > 2000:
            raise ValueError("the URL must be at most 2000 characters")
        return url


class WebhookRead(BaseModel):
    """A subscription (its secret is shown only when it is created)."""

    id: str
    owner: str = Field(description="`sub` of the token that created it")
    event_types: list[str]
    url: str
    description: str | None
    created_at: datetime


class WebhookCreated(WebhookRead):
    """The new subscription with its signing secret, shown this once."""

    secret: str = Field(description="HMAC-SHA256 key for `Kezhuan-Webhook-Signature`; store it now")


class DeliveryRead(BaseModel):
    """One event for one subscription: the attempts so far and the next one."""

    id: int
    event_id: str
    event_type: str
    subject: str = Field(description="the aggregate's id; deliveries of one subject go out in order")
    status: DeliveryStatus
    attempts: int
    last_status: int | None = Field(description="HTTP status of the last attempt, if it got one")
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class ReplayRequest(BaseModel):
    """Deliver again every matching event published from this instant on (real time, as the stream records it)."""

    since: Annotated[AwareDatetime, Field(examples=["2030-01-01T00:00:00+08:00"])]


class ReplayResult(BaseModel):
    """How many deliveries were (re-)enqueued."""

    since: datetime
    enqueued: int
