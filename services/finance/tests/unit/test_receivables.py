"""FIN-9 and FIN-10 on the pure receivable state machine, each at its edges."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finance.domain.receivables import ReceivableState
from servicekit.errors import InvalidState, PolicyViolation

D = Decimal
DUE_ON = date(2031, 6, 30)
FEE = D("30000.00")
DUE = ReceivableState(kind="pay_later", state="due", amount=FEE, due_on=DUE_ON)


def test_pay_later_fee_is_due_on_its_due_day_and_overdue_the_day_after_fin_10() -> None:
    assert DUE.state_as_of(DUE_ON) == "due" and DUE.advance(DUE_ON) == (DUE, [])
    assert DUE.state_as_of(date(2031, 7, 1)) == "overdue"
    moved, happened = DUE.advance(date(2031, 7, 1))
    assert (moved.state, happened) == ("overdue", ["overdue"])
    assert moved.advance(date(2032, 1, 1)) == (moved, [])  # once overdue, nothing more happens by itself


def test_paying_the_agreed_fee_pays_it_and_an_overdue_step_comes_first_when_late_fin_10() -> None:
    assert DUE.pay(amount=FEE, paid_on=DUE_ON, today=DUE_ON)[1] == ["paid"]
    paid, happened = DUE.pay(amount=FEE, paid_on=date(2031, 7, 2), today=date(2031, 7, 2))
    assert (paid.state, happened) == ("paid", ["overdue", "paid"])


def test_a_payment_other_than_the_fee_or_in_the_future_is_refused_fin_10() -> None:
    for amount, paid_on in ((D("29999.99"), DUE_ON), (D("30000.01"), DUE_ON), (FEE, date(2031, 7, 1))):
        with pytest.raises(PolicyViolation) as refused:
            DUE.pay(amount=amount, paid_on=paid_on, today=DUE_ON)
        assert refused.value.rule == "FIN-10"


def test_a_waiver_needs_the_units_decision_and_a_reason_fin_10() -> None:
    assert DUE.waive(has_decision=True, reason="企业经营困难", today=DUE_ON)[0].state == "waived"
    for has_decision, reason in ((False, "企业经营困难"), (True, None), (True, "  ")):
        with pytest.raises(PolicyViolation) as refused:
            DUE.waive(has_decision=has_decision, reason=reason, today=DUE_ON)
        assert refused.value.rule == "FIN-10"


@pytest.mark.parametrize("state", ["paid", "waived"])
def test_a_paid_or_waived_receivable_takes_no_payment_or_waiver_fin_10(state: str) -> None:
    closed = ReceivableState(kind="pay_later", state=state, amount=FEE, due_on=DUE_ON)
    with pytest.raises(InvalidState) as refused:
        closed.pay(amount=FEE, paid_on=DUE_ON, today=DUE_ON)
    assert refused.value.rule == "FIN-10"
    with pytest.raises(InvalidState):
        closed.waive(has_decision=True, reason="x", today=DUE_ON)


def test_agreed_return_falls_due_only_from_contingent_and_settles_only_when_due_fin_9() -> None:
    contingent = ReceivableState(kind="agreed_return", state="contingent")
    due = contingent.trigger(event="listing", amount=D("1.00"))
    assert (due.state, due.amount) == ("due", D("1.00"))
    with pytest.raises(InvalidState) as refused:
        due.trigger(event="equity_transfer", amount=D("1.00"))
    assert refused.value.rule == "FIN-9"
    assert due.settle(amount=D("1.00"), settled_on=DUE_ON, today=DUE_ON).state == "settled"
    with pytest.raises(InvalidState) as refused:
        contingent.settle(amount=D("1.00"), settled_on=DUE_ON, today=DUE_ON)
    assert refused.value.rule == "FIN-9"
    with pytest.raises(PolicyViolation):
        due.settle(amount=D("1.00"), settled_on=date(2031, 7, 1), today=DUE_ON)


def test_an_agreed_return_is_never_overdue_nor_paid_and_a_pay_later_fee_never_triggered() -> None:
    due_return = ReceivableState(kind="agreed_return", state="due", amount=D("1.00"), due_on=date(2000, 1, 1))
    assert due_return.state_as_of(DUE_ON) == "due"
    with pytest.raises(InvalidState) as refused:
        due_return.pay(amount=D("1.00"), paid_on=DUE_ON, today=DUE_ON)
    assert refused.value.rule == "FIN-10"
    with pytest.raises(InvalidState) as refused:
        DUE.trigger(event="listing", amount=D("1.00"))
    assert refused.value.rule == "FIN-9"
