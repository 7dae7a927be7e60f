"""Finance's event handlers (idempotent through the inbox, and through unique source ids)."""
from __future__ import annotations

from contracts.events import ChallengeLanded, DealConcluded, EquityTransferCompleted, LicenceGranted
from finance import service
from finance.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec, Handles
from servicekit.units import unit_policy_consumer

CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(
        name="deal-income", handles={"pricing.deal.concluded": Handles(DealConcluded, service.on_deal_concluded)}
    ),  # FIN-1
    ConsumerSpec(
        name="licence-income",
        handles={"ownership.licence.granted": Handles(LicenceGranted, service.on_licence_granted)},
    ),  # FIN-1
    ConsumerSpec(
        name="agreed-return-receivables",
        handles={
            "ownership.equity_transfer.completed": Handles(EquityTransferCompleted, service.on_equity_transfer_completed)
        },
    ),  # FIN-9
    ConsumerSpec(
        name="landed-challenges",
        handles={"pricing.challenge.landed": Handles(ChallengeLanded, service.on_challenge_landed)},
    ),  # FIN-8
]
