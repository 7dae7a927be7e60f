"""Ownership's event handlers (idempotent through the inbox, and keyed by the source aggregate)."""
from __future__ import annotations

from ownership import service
from servicekit.consumers import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(name="deals", event_types=("pricing.deal.concluded",), handler=service.apply_deal_concluded),
    ConsumerSpec(
        name="horizontal-investments",
        event_types=("finance.horizontal_investment.recorded",),
        handler=service.apply_horizontal_investment,
    ),
]
