"""Ownership's event handlers (idempotent through the inbox, and keyed by the source aggregate)."""
from __future__ import annotations

from contracts.events import DealConcluded, HorizontalInvestmentRecorded
from ownership import service
from servicekit.consumers import ConsumerSpec, Handles

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(name="deals", handles={"pricing.deal.concluded": Handles(DealConcluded, service.apply_deal_concluded)}),
    ConsumerSpec(
        name="horizontal-investments",
        handles={
            "finance.horizontal_investment.recorded": Handles(
                HorizontalInvestmentRecorded, service.apply_horizontal_investment
            )
        },
    ),
]
