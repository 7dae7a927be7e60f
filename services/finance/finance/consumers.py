"""Finance's event handlers (idempotent through the inbox, and through unique source ids)."""
from __future__ import annotations

from contracts.events import (
    AchievementCorrected,
    AchievementRegistered,
    ChallengeLanded,
    DealConcluded,
    EquityTransferCompleted,
    InstitutionEvaluated,
)
from finance.models import UNIT_POLICIES
from finance.service import copies, proceeds
from servicekit.consumers import ConsumerSpec, Handles
from servicekit.units import unit_policy_consumer

CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(
        name="deal-income", handles={"pricing.deal.concluded": Handles(DealConcluded, proceeds.on_deal_concluded)}
    ),  # FIN-1, FIN-10
    ConsumerSpec(
        name="agreed-return-receivables",
        handles={
            "ownership.equity_transfer.completed": Handles(EquityTransferCompleted, proceeds.on_equity_transfer_completed)
        },
    ),  # FIN-1 resource fee, FIN-9
    ConsumerSpec(
        name="landed-challenges",
        handles={"pricing.challenge.landed": Handles(ChallengeLanded, copies.on_challenge_landed)},
    ),  # FIN-8
    ConsumerSpec(
        name="institution-evaluations",
        handles={"ownership.institution.evaluated": Handles(InstitutionEvaluated, copies.on_institution_evaluated)},
    ),  # FIN-8, ORG-1
    ConsumerSpec(
        name="achievement-completers",
        handles={
            "ownership.achievement.registered": Handles(AchievementRegistered, copies.on_achievement_registered),
            "ownership.achievement.corrected": Handles(AchievementCorrected, copies.on_achievement_corrected),
        },
    ),  # FIN-6, OWN-17: one durable, so a correction is applied after the registration it corrects
]
