"""Ownership's event handlers (idempotent through the inbox, and keyed by the source aggregate)."""
from __future__ import annotations

from contracts.events import DealConcluded, HorizontalInvestmentRecorded, RecordAppended, TransactionOpened
from ownership import service
from servicekit.consumers import ConsumerSpec, Handles

CONSUMERS: list[ConsumerSpec] = [
    # One consumer for the rights record's pricing events, so they apply in stream order (OWN-16).
    ConsumerSpec(
        name="deals",
        handles={
            "pricing.deal.concluded": Handles(DealConcluded, service.apply_deal_concluded),
            "pricing.transaction.opened": Handles(TransactionOpened, service.apply_transaction_opened),
            "pricing.record.appended": Handles(RecordAppended, service.apply_record_appended),
        },
    ),
    ConsumerSpec(
        name="horizontal-investments",
        handles={
            "finance.horizontal_investment.recorded": Handles(
                HorizontalInvestmentRecorded, service.apply_horizontal_investment
            )
        },
    ),
]
