"""Ownership's event handlers (idempotent through the inbox, and keyed by the source aggregate)."""
from __future__ import annotations

from ownership import service
from servicekit.consumers import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = [
    # One consumer for the rights record's pricing events, so they apply in stream order (OWN-16).
    ConsumerSpec(
        name="deals",
        event_types=("pricing.deal.concluded", "pricing.transaction.opened", "pricing.record.appended"),
        handler=service.apply_pricing_event,
    ),
    ConsumerSpec(
        name="horizontal-investments",
        event_types=("finance.horizontal_investment.recorded",),
        handler=service.apply_horizontal_investment,
    ),
]
