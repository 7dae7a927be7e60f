"""What every finance use case shares: emitting through the outbox, scoping reads, reading events."""
from __future__ import annotations

from datetime import UTC, datetime

from contracts.envelope import CloudEvent
from finance.models import INFRA
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.outbox import EventEmitter
from servicekit.pagination import decode_cursor

SOURCE = "finance"
UNIT_READERS = ("department", "platform_admin")
FUND_READERS = ("platform_admin", "platform_company", "department")


emit_event = EventEmitter(SOURCE, INFRA)
"""Write an event to the outbox, in the caller's transaction."""


def after(cursor: str | None) -> str | None:
    """The id a page starts after."""
    key = decode_cursor(cursor)
    return None if key is None else str(key[0])


def scoped_unit(actor: Principal, unit_id: str | None) -> str | None:
    """A unit_admin reads its own unit (by default, or when named); global readers may read all."""
    if unit_id is None and not actor.has(*UNIT_READERS, "service"):
        require_role(actor, "unit_admin")
        return actor.unit_id
    if unit_id is not None:
        ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=UNIT_READERS)
    return unit_id


def event_time(event: CloudEvent) -> datetime:
    """When the producer says it happened; an offset-less time is read as UTC rather than refused forever."""
    return event.time if event.time.tzinfo is not None else event.time.replace(tzinfo=UTC)
