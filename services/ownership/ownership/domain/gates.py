"""Security, export, secrecy and ethics gates (M (十五)): OWN-12, OWN-13, OWN-14, OWN-15.

One place decides whether an achievement may be empowered, separately managed or licensed.
Every check raises `PolicyViolation` naming its rule; the caller passes the facts it loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from servicekit.errors import PolicyViolation


class Action(StrEnum):
    """What the unit is about to grant; each gate applies to the actions its clause names."""

    EMPOWERMENT = "empowerment"
    SEPARATE_MANAGEMENT = "separate_management"
    PAY_LATER_LICENCE = "pay_later_licence"
    EQUITY_TRANSFER = "equity_transfer"


COMPLIANCE_KINDS = ("export_control", "secrecy_approval", "confidentiality_agreement", "ethics_review")

# OWN-12: the security exclusion covers 赋权、单列管理、"先使用后付费" (M (十五)).
_SECURITY_EXCLUDED = frozenset({Action.EMPOWERMENT, Action.SEPARATE_MANAGEMENT, Action.PAY_LATER_LICENCE})
# OWN-13/14/15 cover "赋权和转化" — empowering or transforming; separate management is bookkeeping,
# neither, so those gates do not apply to it. An equity transfer hands ownership to the team (an
# empowerment), a licence is a transformation.
_EMPOWER_OR_TRANSFORM = frozenset({Action.EMPOWERMENT, Action.PAY_LATER_LICENCE, Action.EQUITY_TRANSFER})


@dataclass(frozen=True)
class SecurityFacts:
    """The achievement's flags and the kinds of compliance records it already has."""

    national_interest: bool
    classified: bool
    key_core_technology: bool
    ethics_review_required: bool
    record_kinds: frozenset[str]


def check_security_exclusion(facts: SecurityFacts, action: Action) -> None:
    """OWN-12: a national-interest achievement is not eligible for empowerment, separate management or pay-later."""
    if facts.national_interest and action in _SECURITY_EXCLUDED:
        raise PolicyViolation(
            "OWN-12",
            "an achievement flagged security.national_interest is excluded from empowerment, "
            "separate management and use-first-pay-later",
        )


def check_export_control(facts: SecurityFacts, action: Action, *, overseas: bool) -> None:
    """OWN-13: empowerment or transformation abroad needs a technology-export compliance record."""
    if overseas and action in _EMPOWER_OR_TRANSFORM and "export_control" not in facts.record_kinds:
        raise PolicyViolation("OWN-13", "an overseas empowerment or transformation needs an export_control record")


def check_secrecy(facts: SecurityFacts, action: Action) -> None:
    """OWN-14: classified or key-core-technology achievements need an approval/filing AND a confidentiality agreement."""
    if not (facts.classified or facts.key_core_technology) or action not in _EMPOWER_OR_TRANSFORM:
        return
    missing = [k for k in ("secrecy_approval", "confidentiality_agreement") if k not in facts.record_kinds]
    if missing:
        raise PolicyViolation(
            "OWN-14",
            f"a classified or key-core-technology achievement needs these records first: {', '.join(missing)}",
        )


def check_ethics(facts: SecurityFacts, action: Action) -> None:
    """OWN-15: an achievement that requires ethics review needs an ethics_review record first."""
    if facts.ethics_review_required and action in _EMPOWER_OR_TRANSFORM and "ethics_review" not in facts.record_kinds:
        raise PolicyViolation("OWN-15", "this achievement needs an ethics_review record first")


def check_gates(facts: SecurityFacts, action: Action, *, overseas: bool = False) -> None:
    """Apply every gate of M (十五) in order: OWN-12, OWN-13, OWN-14, OWN-15."""
    check_security_exclusion(facts, action)
    check_export_control(facts, action, overseas=overseas)
    check_secrecy(facts, action)
    check_ethics(facts, action)
