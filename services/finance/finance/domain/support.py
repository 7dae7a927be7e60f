"""Financial support for transformation: products, uptakes, risk compensation (FIN-11, M 五 and M 九). Pure.

A risk-compensation pool is funded like a fund and conserves its money (FIN-5's idea):
contributed = compensated + balance, nothing negative, and a claim never pays more than the loss
times the pool's ratio, nor more than the balance, and only once per uptake.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

ZERO = Decimal("0.00")
HUNDRED = Decimal("100.00")
TWO_PLACES = Decimal("0.01")
MAX_TOTAL = Decimal("9999999999999999.99")  # the largest total a NUMERIC(18, 2) column holds
PRODUCT_KINDS = ("transformation_loan", "transformation_insurance", "rd_loss_insurance", "guarantee")  # M (九)
COMPENSABLE_KINDS = ("transformation_loan", "transformation_insurance", "rd_loss_insurance")  # 信贷及保险产品


def check_ratio(ratio_pct: Decimal) -> None:
    """FIN-11: a pool compensates a share of the loss: 0 < ratio ≤ 100.00."""
    if not ZERO < ratio_pct <= HUNDRED:
        raise PolicyViolation("FIN-11", "ratio_pct must be above 0.00 and at most 100.00")


def check_uptake(*, amount: Decimal, deal_concluded: bool) -> None:
    """FIN-11: an uptake of a support product is linked to a concluded deal."""
    if amount <= ZERO:
        raise InvalidInput("amount must be above 0.00")
    if not deal_concluded:
        raise PolicyViolation("FIN-11", "an uptake must be linked to a concluded deal (transaction_id)")


@dataclass(frozen=True)
class PoolBook:
    """A risk-compensation pool's totals; the balance is what it can still pay."""

    ratio_pct: Decimal
    contributed: Decimal = ZERO
    compensated: Decimal = ZERO
    balance: Decimal = ZERO

    def contribute(self, amount: Decimal) -> PoolBook:
        """Money paid into the pool raises its balance."""
        if amount <= ZERO:
            raise InvalidInput("a contribution must be greater than 0.00")
        book = replace(self, contributed=self.contributed + amount, balance=self.balance + amount)
        if book.contributed > MAX_TOTAL:
            raise InvalidInput("the pool's totals would exceed 9999999999999999.99")
        return book

    def compensate(self, *, product_kind: str, loss_amount: Decimal, already_claimed: bool) -> tuple[PoolBook, Decimal]:
        """FIN-11: pay min(loss × ratio, balance) for a loan or insurance uptake, once per uptake."""
        if loss_amount <= ZERO:
            raise InvalidInput("loss_amount must be above 0.00")
        if product_kind not in COMPENSABLE_KINDS:
            raise PolicyViolation("FIN-11", f"risk compensation covers loan and insurance uptakes, not a {product_kind}")
        if already_claimed:
            raise InvalidState("this uptake's loss has already been claimed", rule="FIN-11")
        if self.balance <= ZERO:
            raise InvalidState("the pool has no balance left to compensate from", rule="FIN-11")
        due = (loss_amount * self.ratio_pct / HUNDRED).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
        paid = min(due, self.balance)
        return replace(self, compensated=self.compensated + paid, balance=self.balance - paid), paid

    def is_conserved(self) -> bool:
        """FIN-11 (FIN-5's conservation): contributed = compensated + balance, nothing negative."""
        return self.contributed == self.compensated + self.balance and min(self.contributed, self.compensated, self.balance) >= ZERO
