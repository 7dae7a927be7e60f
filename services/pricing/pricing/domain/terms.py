"""A deal's licence and payment terms: pay-later licences (OWN-9, M (四)(五)) and technology managers (PRC-12)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pricing.domain.conflicts import LICENCE_SCOPES, Term
from servicekit.errors import InvalidInput, PolicyViolation

PAYMENT_MODES = ("at_conclusion", "pay_later")
SME_SIZES = frozenset({"micro", "small", "medium"})  # OWN-9: 中小微企业
MAX_TECHNOLOGY_MANAGERS = 20


@dataclass(frozen=True)
class Licence:
    """What a licence transaction grants; dates as asked (None: from the opening / never ends)."""

    scope: str = "ordinary"
    start_on: date | None = None
    end_on: date | None = None

    def term(self, opened_on: date) -> Term:
        """The term the conflict table compares: a licence without start_on starts when its transaction opens."""
        return Term(scope=self.scope, start_on=self.start_on or opened_on, end_on=self.end_on)


@dataclass(frozen=True)
class Payment:
    """When the fee is paid: at conclusion, or later (OWN-9, FIN-10) on a date and conditions."""

    mode: str = "at_conclusion"
    due_on: date | None = None
    conditions: str | None = None


def licence_of(kind: str, licence: Licence | None) -> Licence | None:
    """A licence transaction's licence (`scope` defaults to ordinary); other kinds grant none."""
    if kind != "license":
        if licence is not None:
            raise InvalidInput("`licence` belongs to transactions of kind license")
        return None
    licence = licence or Licence()
    if licence.scope not in LICENCE_SCOPES:
        raise InvalidInput(f"licence.scope must be one of {', '.join(LICENCE_SCOPES)}")
    if licence.start_on and licence.end_on and licence.end_on < licence.start_on:
        raise InvalidInput("licence.end_on is before licence.start_on")
    return licence


def check_payment(
    payment: Payment, *, kind: str, method: str, counterparty_size: str | None, national_interest: bool
) -> None:
    """OWN-9: pay later only for a licence at an agreement price to a micro, small or medium enterprise,
    with the payment time and conditions agreed; OWN-12: never for a security-flagged achievement."""
    if payment.mode not in PAYMENT_MODES:
        raise InvalidInput(f"payment.mode must be one of {', '.join(PAYMENT_MODES)}")
    if payment.mode != "pay_later":
        if payment.due_on is not None or payment.conditions is not None:
            raise InvalidInput("due_on and conditions belong to payment.mode pay_later")
        return
    if kind != "license" or method != "agreement":
        raise PolicyViolation("OWN-9", "use first, pay later is a licence at an agreement price (kind license, method agreement)")
    if counterparty_size not in SME_SIZES:
        raise PolicyViolation("OWN-9", "use first, pay later licences go to micro, small or medium enterprises (counterparty.size)")
    if payment.due_on is None or not (payment.conditions or "").strip():
        raise PolicyViolation("OWN-9", "a pay-later licence records the payment time (due_on) and the payment conditions")
    if national_interest:
        raise PolicyViolation("OWN-12", "an achievement flagged for national interest is not licensed use first, pay later")


def technology_manager_ids_of(ids: list[str] | None) -> list[str]:
    """PRC-12: the named technology managers, each once, in the order given."""
    unique = list(dict.fromkeys(ids or []))
    if len(unique) > MAX_TECHNOLOGY_MANAGERS:
        raise InvalidInput(f"at most {MAX_TECHNOLOGY_MANAGERS} technology managers")
    return unique
