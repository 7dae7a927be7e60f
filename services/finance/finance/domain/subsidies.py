"""Reward-type post-subsidies (FIN-8, M 八 and M 十). Pure.

A challenge award goes once to the enterprise of an awarded and landed two-way challenge (PRC-10);
a science park, or an incubator of provincial level or above, rated excellent in its annual
evaluation (ORG-1) receives at most 500,000.00, once per institution and evaluation year.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from servicekit.errors import InvalidInput, PolicyViolation

KINDS = ("challenge_award", "science_park", "incubator")
INSTITUTION_KINDS = ("science_park", "incubator")
MAX_INSTITUTION_AWARD = Decimal("500000.00")  # FIN-8, M (十): 不超过50万元
INCUBATOR_LEVELS = ("provincial", "national")  # FIN-8, M (十): 省级以上孵化器
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Evaluation:
    """ORG-1: an institution's rating in one year, as ownership announced it."""

    kind: str
    level: str | None
    rating: str


def _code(party: dict[str, Any] | None) -> str:
    value = (party or {}).get("credit_code")
    return value.strip().upper() if isinstance(value, str) else ""


def entitled_enterprise(landed: dict[str, Any]) -> dict[str, Any] | None:
    """PRC-10: the enterprise a landed challenge names; older events: the publisher of a
    technology_wanted challenge, the awarded responder of a market_wanted one."""
    if isinstance(landed.get("enterprise"), dict):
        return landed["enterprise"]
    direction = landed.get("direction")
    chosen = landed.get("publisher") if direction == "technology_wanted" else landed.get("responder") if direction == "market_wanted" else None
    return chosen if isinstance(chosen, dict) else None


def _check_amount(amount: Decimal) -> None:
    if amount <= ZERO:
        raise InvalidInput("amount must be above 0.00")


def check_challenge_award(*, amount: Decimal, recipient: dict[str, Any], landed: dict[str, Any] | None) -> None:
    """FIN-8: a challenge award needs a landed challenge and goes to its enterprise (422 FIN-8 otherwise)."""
    _check_amount(amount)
    if landed is None:
        raise PolicyViolation("FIN-8", "a challenge award needs an awarded challenge that has landed")
    enterprise = entitled_enterprise(landed)
    if not _code(recipient) or _code(recipient) != _code(enterprise):
        raise PolicyViolation("FIN-8", "a challenge award goes to the challenge's enterprise (by credit_code)")


def check_institution_award(
    *, kind: str, amount: Decimal, institution_id: str | None, year: int | None, evaluation: Evaluation | None
) -> None:
    """FIN-8: an excellent science park or provincial+ incubator that year, at most 500,000.00 (422 FIN-8)."""
    _check_amount(amount)
    if institution_id is None or year is None:
        raise PolicyViolation("FIN-8", f"a {kind} award needs institution_id and evaluation_year")
    if evaluation is None or evaluation.rating != "excellent":
        raise PolicyViolation("FIN-8", f"the institution is not rated excellent in its {year} evaluation")
    if evaluation.kind != kind:
        raise PolicyViolation("FIN-8", f"the institution is a {evaluation.kind}, not a {kind}")
    if kind == "incubator" and evaluation.level not in INCUBATOR_LEVELS:
        raise PolicyViolation("FIN-8", f"an incubator award needs provincial level or above, not {evaluation.level}")
    if amount > MAX_INSTITUTION_AWARD:
        raise PolicyViolation("FIN-8", f"a {kind} award is at most {MAX_INSTITUTION_AWARD}")
