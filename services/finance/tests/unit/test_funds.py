"""FIN-3/4/5 on the pure fund model: every rule at its edges, and conservation under any sequence."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from finance.domain.funds import FundBook, convert, equity_pct_of, exit_equity
from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

D = Decimal


def test_tranche_equal_to_the_balance_is_paid_and_empties_the_fund() -> None:
    book = FundBook().contribute(D("100.00")).disburse(D("100.00"))
    assert book.balance == D("0.00") and book.disbursed == D("100.00")


def test_tranche_one_cent_above_the_balance_is_refused_with_fin_3() -> None:
    with pytest.raises(PolicyViolation) as refused:
        FundBook().contribute(D("100.00")).disburse(D("100.01"))
    assert refused.value.rule == "FIN-3"


def test_exit_proceeds_return_to_the_balance_and_can_be_disbursed_again() -> None:
    book = FundBook().contribute(D("100.00")).disburse(D("100.00")).receive_exit(D("40.00"))
    assert book.balance == D("40.00")
    assert book.disburse(D("40.00")).balance == D("0.00")


def test_equity_is_disbursed_over_post_money_half_up() -> None:
    assert equity_pct_of(D("1.00"), D("8.00")) == D("12.50")
    # 1/800 × 100 = 0.125 exactly: half-up gives 0.13 where banker's rounding would give 0.12.
    assert equity_pct_of(D("1.00"), D("800.00")) == D("0.13")
    # 0.135 → 0.14 (banker's rounding would also give 0.14; 0.145 → 0.15 where it would give 0.14).
    assert equity_pct_of(D("29.00"), D("20000.00")) == D("0.15")


def test_conversion_before_any_tranche_is_refused_with_fin_4() -> None:
    with pytest.raises(InvalidState) as refused:
        convert(state="investing", disbursed=D("0.00"), trigger="market_financing", post_money_valuation=D("10.00"))
    assert refused.value.rule == "FIN-4"


def test_second_conversion_is_refused_with_fin_4() -> None:
    with pytest.raises(InvalidState) as refused:
        convert(state="converted", disbursed=D("1.00"), trigger="stable_stage", post_money_valuation=D("10.00"))
    assert refused.value.rule == "FIN-4"


def test_post_money_below_the_investment_is_refused_and_equal_gives_one_hundred_percent() -> None:
    assert convert(state="investing", disbursed=D("5.00"), trigger="stable_stage", post_money_valuation=D("5.00")) == D("100.00")
    with pytest.raises(PolicyViolation) as refused:
        convert(state="investing", disbursed=D("5.00"), trigger="stable_stage", post_money_valuation=D("4.99"))
    assert refused.value.rule == "FIN-4"


def test_exiting_all_held_equity_is_allowed_and_one_hundredth_more_is_refused_with_fin_5() -> None:
    assert exit_equity(state="converted", held_pct=D("12.50"), exit_pct=D("12.50"), proceeds=D("1.00")) == D("0.00")
    with pytest.raises(PolicyViolation) as refused:
        exit_equity(state="converted", held_pct=D("12.50"), exit_pct=D("12.51"), proceeds=D("1.00"))
    assert refused.value.rule == "FIN-5"


def test_exit_before_conversion_is_refused_with_fin_4() -> None:
    with pytest.raises(InvalidState) as refused:
        exit_equity(state="investing", held_pct=D("0.00"), exit_pct=D("1.00"), proceeds=D("1.00"))
    assert refused.value.rule == "FIN-4"


def test_zero_or_negative_amounts_are_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        FundBook().contribute(D("0.00"))
    with pytest.raises(InvalidInput):
        FundBook().contribute(D("10.00")).disburse(D("-1.00"))


cents = st.integers(min_value=1, max_value=10_000_000).map(lambda c: Decimal(c).scaleb(-2))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("contribute"), cents),
        st.tuples(st.just("tranche"), cents),
        st.tuples(st.just("convert"), cents),
        st.tuples(st.just("exit"), st.integers(min_value=1, max_value=10_000).map(lambda c: Decimal(c).scaleb(-2)), cents),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_any_sequence_conserves_the_fund_and_never_overdraws(ops: list[tuple]) -> None:
    """FIN-5: contributed + exit_proceeds = disbursed + balance always; no total ever negative."""
    book = FundBook()
    state, disbursed, held = "investing", D("0.00"), D("0.00")
    for op in ops:
        try:
            if op[0] == "contribute":
                book = book.contribute(op[1])
            elif op[0] == "tranche":
                if state != "investing":
                    continue
                book = book.disburse(op[1])
                disbursed += op[1]
            elif op[0] == "convert":
                held = convert(state=state, disbursed=disbursed, trigger="market_financing", post_money_valuation=disbursed + op[1])
                state = "converted"
            else:
                held = exit_equity(state=state, held_pct=held, exit_pct=op[1], proceeds=op[2])
                book = book.receive_exit(op[2])
                state = "exited" if held == 0 else state
        except (PolicyViolation, InvalidState):
            pass
        assert book.is_conserved(), book
        assert book.balance >= 0 and held >= 0
