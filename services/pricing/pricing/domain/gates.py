"""Transaction gates of M (十五): export control, secrecy, ethics (OWN-13, OWN-14, OWN-15).

Checked against the achievement as ownership holds it now, for every party a deal could go to:
the agreement counterparty, each delisting party and each auction bidder.
"""
from __future__ import annotations

from dataclasses import dataclass

from servicekit.errors import PolicyViolation


@dataclass(frozen=True)
class AchievementFacts:
    """What the gates need to know about an achievement."""

    classified: bool
    key_core_technology: bool
    ethics_review_required: bool
    compliance_kinds: frozenset[str]


@dataclass(frozen=True)
class PartyFacts:
    """What the gates need to know about a party."""

    kind: str  # enterprise | individual
    overseas: bool


def check_transaction_gates(achievement: AchievementFacts, party: PartyFacts) -> None:
    """OWN-13/14/15: the compliance records a transformation with this party needs."""
    if party.overseas and "export_control" not in achievement.compliance_kinds:
        raise PolicyViolation("OWN-13", "a transformation abroad needs a technology-export compliance record")
    sensitive = achievement.classified or achievement.key_core_technology
    if sensitive and party.kind in ("enterprise", "individual"):
        missing = {"secrecy_approval", "confidentiality_agreement"} - achievement.compliance_kinds
        if missing:
            raise PolicyViolation(
                "OWN-14",
                "a classified or key-core-technology achievement needs an approval/filing record and a "
                f"confidentiality agreement first (missing: {', '.join(sorted(missing))})",
            )
    if achievement.ethics_review_required and "ethics_review" not in achievement.compliance_kinds:
        raise PolicyViolation("OWN-15", "this achievement needs an ethics review record first")
