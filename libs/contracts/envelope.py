"""CloudEvents 1.0 structured-JSON envelope used for every event on the KEZHUAN stream."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

STREAM = "KEZHUAN"
SUBJECT_PREFIX = "kezhuan."


def subject_for(event_type: str) -> str:
    """NATS subject of an event type: `pricing.deal.concluded` → `kezhuan.pricing.deal.concluded`."""
    return SUBJECT_PREFIX + event_type


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope; `subject` is the id of the aggregate the type names."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    datacontenttype: str = "application/json"
    requestid: str | None = None
    traceparent: str | None = None
    data: dict[str, Any]
