"""Horizontal-project surplus funds invested in a transformation (FIN-2, M 三). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from servicekit.errors import InvalidInput, PolicyViolation

MIN_RESEARCHER_SHARE_PCT = Decimal("90.00")  # FIN-2, M (三): 原则上不低于90%
ZERO = Decimal("0.00")
HUNDRED = Decimal("100.00")
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Stake:
    """FIN-2: the stake put in (technology + cash) and the unit's agreed part of it, the state equity."""

    value: Decimal
    unit_share_pct: Decimal
    state_equity_value: Decimal


def check_horizontal_investment(
    *,
    surplus_amount: Decimal,
    cash_amount: Decimal,
    technology_valuation: Decimal,
    researcher_share_pct: Decimal,
    exception_reason: str | None,
    has_unit_consent: bool,
) -> Stake:
    """FIN-2: the unit consents, cash comes from the surplus, researchers get ≥ 90% unless a reason is recorded.

    Returns the stake; the unit's part (100% − the researchers' share, half-up to the cent) is the
    state equity that enters the separate ledger (所形成的国有股权纳入单列管理).
    """
    if not has_unit_consent:
        raise PolicyViolation("FIN-2", "surplus funds may be invested only with the unit's consent (unit_consent)")
    if surplus_amount <= ZERO or cash_amount < ZERO or technology_valuation < ZERO:
        raise InvalidInput("surplus_amount must be above 0.00; cash_amount and technology_valuation not negative")
    if cash_amount + technology_valuation <= ZERO:
        raise InvalidInput("an investment needs a technology stake or a cash stake")
    if cash_amount > surplus_amount:
        raise PolicyViolation("FIN-2", f"the cash stake {cash_amount} exceeds the surplus funds {surplus_amount}")
    if not ZERO <= researcher_share_pct <= HUNDRED:
        raise InvalidInput("researcher_share_pct is between 0.00 and 100.00")
    if researcher_share_pct < MIN_RESEARCHER_SHARE_PCT and not (exception_reason or "").strip():
        raise PolicyViolation(
            "FIN-2",
            f"the researchers' share is at least {MIN_RESEARCHER_SHARE_PCT}% unless an exception_reason is recorded",
        )
    value = technology_valuation + cash_amount
    unit_share_pct = HUNDRED - researcher_share_pct
    state_equity = (value * unit_share_pct / HUNDRED).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    return Stake(value=value, unit_share_pct=unit_share_pct, state_equity_value=state_equity)
