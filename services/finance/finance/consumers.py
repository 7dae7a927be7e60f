"""Finance's event handlers (idempotent through the inbox, and through unique source ids)."""
from __future__ import annotations

from finance import service
from finance.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec
from servicekit.units import unit_policy_consumer

CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(name="deal-income", event_types=("pricing.deal.concluded",), handler=service.on_deal_concluded),  # FIN-1
    ConsumerSpec(name="licence-income", event_types=("ownership.licence.granted",), handler=service.on_licence_granted),  # FIN-1
    ConsumerSpec(
        name="agreed-return-receivables",
        event_types=("ownership.equity_transfer.completed",),
        handler=service.on_equity_transfer_completed,
    ),  # FIN-9
    ConsumerSpec(name="landed-challenges", event_types=("pricing.challenge.landed",), handler=service.on_challenge_landed),  # FIN-8
]
