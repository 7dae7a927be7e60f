"""Horizontal-project surplus funds invested in a transformation (FIN-2). Pure."""
from __future__ import annotations

from decimal import Decimal

from servicekit.errors import InvalidInput, PolicyViolation

MIN_RESEARCHER_SHARE_PCT = Decimal("90.00")  # FIN-2, M (三): 原则上不低于90%
ZERO = Decimal("0.00")
HUNDRED = Decimal("100.00")


def check_horizontal_investment(
    *,
    surplus_amount: Decimal,
    cash_amount: Decimal,
    technology_valuation: Decimal,
    researcher_share_pct: Decimal,
    exception_reason: str | None,
    has_unit_consent: bool,
) -> Decimal:
    """FIN-2: the unit consents, cash comes from the surplus, researchers get ≥ 90% unless a reason is recorded.

    Returns the state equity's value (technology stake + cash stake), which is separately managed.
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
    return technology_valuation + cash_amount
