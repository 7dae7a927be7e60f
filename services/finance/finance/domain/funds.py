"""Invest first, equity later (先投后股): the fund's book and a project's path to equity (FIN-3, FIN-4, FIN-5).

Pure: stdlib only. A fund's book obeys contributed + exit_proceeds = disbursed + balance (FIN-5);
every operation returns a new book and refuses anything that would break it or overdraw it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
TWO_PLACES = Decimal("0.01")
STAGES = ("concept_verification", "small_trial", "pilot", "industrialization")  # FIN-3, M (七)
TRIGGERS = ("market_financing", "stable_stage")  # FIN-4, M (七)
MAX_TOTAL = Decimal("9999999999999999.99")  # the largest total a NUMERIC(18, 2) column holds


def _positive(amount: Decimal, what: str) -> None:
    if amount <= ZERO:
        raise InvalidInput(f"{what} must be greater than 0.00")


def _storable(book: FundBook) -> FundBook:
    """Refuse (422) totals beyond what the ledger can store, rather than fail in the database."""
    if max(book.contributed, book.disbursed, book.exit_proceeds, book.balance) > MAX_TOTAL:
        raise InvalidInput("the fund's totals would exceed 9999999999999999.99")
    return book


@dataclass(frozen=True)
class FundBook:
    """A fund's four totals; the balance is what the fund can still disburse."""

    contributed: Decimal = ZERO
    disbursed: Decimal = ZERO
    exit_proceeds: Decimal = ZERO
    balance: Decimal = ZERO

    def contribute(self, amount: Decimal) -> FundBook:
        """Fiscal S&T funds paid into the fund raise its balance."""
        _positive(amount, "a contribution")
        return _storable(replace(self, contributed=self.contributed + amount, balance=self.balance + amount))

    def disburse(self, amount: Decimal) -> FundBook:
        """FIN-3: a tranche is paid out of the fund's balance, never beyond it."""
        _positive(amount, "a tranche")
        if amount > self.balance:
            raise PolicyViolation("FIN-3", f"the tranche {amount} exceeds the fund's balance {self.balance}")
        return replace(self, disbursed=self.disbursed + amount, balance=self.balance - amount)

    def receive_exit(self, proceeds: Decimal) -> FundBook:
        """FIN-5: exit proceeds flow back into the fund and can finance new projects."""
        if proceeds < ZERO:
            raise InvalidInput("exit proceeds cannot be negative")
        return _storable(replace(self, exit_proceeds=self.exit_proceeds + proceeds, balance=self.balance + proceeds))

    def is_conserved(self) -> bool:
        """FIN-5: contributed + exit proceeds = disbursed + balance, and nothing is negative."""
        return (
            self.contributed + self.exit_proceeds == self.disbursed + self.balance
            and min(self.contributed, self.disbursed, self.exit_proceeds, self.balance) >= ZERO
        )


def check_stage(stage: str) -> None:
    """FIN-3: project funding supports concept verification, small trial, pilot and industrialisation."""
    if stage not in STAGES:
        raise InvalidInput(f"stage must be one of {', '.join(STAGES)}")


def check_tranche_allowed(state: str) -> None:
    """FIN-3: funding is disbursed as project funding only while the project is in its invest-first phase."""
    if state != "investing":
        raise InvalidState("the project has converted to equity; no more invest-first tranches", rule="FIN-3")


def equity_pct_of(disbursed: Decimal, post_money_valuation: Decimal) -> Decimal:
    """FIN-4: the stake is disbursed ÷ post-money valuation × 100, to 2 places, half-up."""
    return (disbursed / post_money_valuation * HUNDRED).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def convert(*, state: str, disbursed: Decimal, trigger: str, post_money_valuation: Decimal) -> Decimal:
    """FIN-4: convert the invested amount to equity after market financing or on reaching a stable stage."""
    if state != "investing":
        raise InvalidState("the project has already converted to equity", rule="FIN-4")
    if disbursed <= ZERO:
        raise InvalidState("nothing has been invested yet, so there is nothing to convert", rule="FIN-4")
    if trigger not in TRIGGERS:
        raise PolicyViolation("FIN-4", f"conversion needs one of the triggers {', '.join(TRIGGERS)}")
    if post_money_valuation < disbursed:
        raise PolicyViolation("FIN-4", "the post-money valuation cannot be below the amount invested")
    return equity_pct_of(disbursed, post_money_valuation)


def exit_equity(*, state: str, held_pct: Decimal, exit_pct: Decimal, proceeds: Decimal) -> Decimal:
    """FIN-5: exit gradually, never more equity than is held; returns the equity still held (FIN-4 first)."""
    if state == "investing":
        raise InvalidState("the project has not converted to equity yet", rule="FIN-4")
    if state != "converted":
        raise InvalidState("the fund has already exited this project completely", rule="FIN-5")
    if exit_pct <= ZERO:
        raise InvalidInput("equity_pct must be greater than 0.00")
    if proceeds < ZERO:
        raise InvalidInput("exit proceeds cannot be negative")
    if exit_pct > held_pct:
        raise PolicyViolation("FIN-5", f"the fund holds {held_pct}% and cannot exit {exit_pct}%")
    return held_pct - exit_pct
