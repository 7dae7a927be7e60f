"""Finance's event handlers (idempotent through the inbox, and through unique source ids)."""
from __future__ import annotations

from servicekit.consumers import ConsumerSpec
from servicekit.units import unit_policy_consumer

from finance.models import UNIT_POLICIES
from finance.service import copies, proceeds

CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(name="deal-income", event_types=("pricing.deal.concluded",), handler=proceeds.on_deal_concluded),  # FIN-1, FIN-10
    ConsumerSpec(
        name="agreed-return-receivables",
        event_types=("ownership.equity_transfer.completed",),
        handler=proceeds.on_equity_transfer_completed,
    ),  # FIN-1 resource fee, FIN-9
    ConsumerSpec(name="landed-challenges", event_types=("pricing.challenge.landed",), handler=copies.on_challenge_landed),  # FIN-8
    ConsumerSpec(
        name="institution-evaluations", event_types=("ownership.institution.evaluated",), handler=copies.on_institution_evaluated
    ),  # FIN-8, ORG-1
    ConsumerSpec(
        name="achievement-completers", event_types=("ownership.achievement.registered",), handler=copies.on_achievement_registered
    ),  # FIN-6
    ConsumerSpec(
        name="achievement-corrections", event_types=("ownership.achievement.corrected",), handler=copies.on_achievement_corrected
    ),  # FIN-6, OWN-17
]
