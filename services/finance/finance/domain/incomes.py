"""What a sum arriving means for the unit's income (FIN-1, M 二). Pure.

Income is booked only for money the unit receives: a transfer or licence paid at conclusion (the
deal), a pay-later licence when it is paid (FIN-10), a resource fee when the equity transfer
completes (OWN-11, M 六), an agreed return when it is settled (FIN-9). An investment (作价投资)
brings the unit an equity stake, not cash: it enters the separate ledger (OWN-7), never income.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")
SOURCES = ("deal", "licence_payment", "resource_fee", "agreed_return")  # FIN-1
PAY_LATER = "pay_later"  # FIN-10, M (五)


@dataclass(frozen=True)
class BookIncome:
    """FIN-1: the price was paid at conclusion; it is income of the unit now."""

    amount: Decimal


@dataclass(frozen=True)
class OpenReceivable:
    """FIN-10: a pay-later licence; the fee becomes income only when it is paid."""

    amount: Decimal
    due_on: date | None
    conditions: str | None


@dataclass(frozen=True)
class EquityStake:
    """FIN-1: an investment forms the unit's equity stake (separate ledger, OWN-7); no income."""

    value: Decimal


DealEffect = BookIncome | OpenReceivable | EquityStake


def _date_or_none(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def effect_of_deal(*, kind: str, price: Decimal, payment: dict[str, object] | None) -> DealEffect:
    """FIN-1/FIN-10: what a concluded deal brings the unit — income now, a receivable, or equity."""
    if kind == "investment":
        return EquityStake(value=price)
    payment = payment or {}
    if payment.get("mode") == PAY_LATER:
        conditions = payment.get("conditions")
        return OpenReceivable(
            amount=price,
            due_on=_date_or_none(payment.get("due_on")),
            conditions=conditions if isinstance(conditions, str) else None,
        )
    return BookIncome(amount=price)


def resource_fee_income(*, mode: str, fee: Decimal | None) -> Decimal | None:
    """FIN-1, OWN-11: a resource-fee equity transfer's one-time fee is income when it completes."""
    if mode != "resource_fee" or fee is None or fee <= ZERO:
        return None
    return fee


