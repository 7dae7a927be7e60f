"""Reward-type post-subsidies (FIN-8) and agreed-return receivables (FIN-9). Pure."""
from __future__ import annotations

from decimal import Decimal

from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

KINDS = ("challenge_award", "science_park", "incubator")
CAPPED_KINDS = ("science_park", "incubator")
MAX_PARK_OR_INCUBATOR_AWARD = Decimal("500000.00")  # FIN-8, M (十): 不超过50万元
ZERO = Decimal("0.00")
TRIGGER_EVENTS = ("listing", "equity_transfer")  # FIN-9, M (六): 企业上市或股权转让时


def check_subsidy(*, kind: str, amount: Decimal, challenge_landed: bool | None) -> None:
    """FIN-8: a challenge award only for a landed challenge; a park or incubator award at most 500,000.00."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if amount <= ZERO:
        raise InvalidInput("amount must be above 0.00")
    if kind in CAPPED_KINDS and amount > MAX_PARK_OR_INCUBATOR_AWARD:
        raise PolicyViolation("FIN-8", f"a {kind} award is at most {MAX_PARK_OR_INCUBATOR_AWARD}")
    if kind == "challenge_award" and not challenge_landed:
        raise PolicyViolation("FIN-8", "a challenge award needs an awarded challenge that has landed")


def trigger_receivable(*, state: str, event: str, amount: Decimal) -> str:
    """FIN-9: a contingent receivable falls due when the enterprise lists or the equity is transferred."""
    if event not in TRIGGER_EVENTS:
        raise InvalidInput(f"event must be one of {', '.join(TRIGGER_EVENTS)}")
    if amount <= ZERO:
        raise InvalidInput("amount must be above 0.00")
    if state != "contingent":
        raise InvalidState(f"only a contingent receivable can fall due; this one is {state}", rule="FIN-9")
    return "due"


def settle_receivable(*, state: str) -> str:
    """FIN-9: a receivable is settled once it has fallen due."""
    if state != "due":
        raise InvalidState(f"only a due receivable can be settled; this one is {state}", rule="FIN-9")
    return "settled"
