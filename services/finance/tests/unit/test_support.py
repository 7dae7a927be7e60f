"""FIN-11 on the pure pool book: ratio edges, min(loss × ratio, balance), once per uptake, conservation."""
from __future__ import annotations

from decimal import Decimal

import pytest

from finance.domain.support import PoolBook, check_ratio, check_uptake
from servicekit.errors import InvalidState, PolicyViolation

D = Decimal


def test_ratio_above_zero_up_to_one_hundred_is_allowed_fin_11() -> None:
    check_ratio(D("0.01"))
    check_ratio(D("100.00"))
    for ratio in (D("0.00"), D("100.01"), D("-1.00")):
        with pytest.raises(PolicyViolation) as refused:
            check_ratio(ratio)
        assert refused.value.rule == "FIN-11"


def test_compensation_is_loss_times_ratio_or_the_balance_whichever_is_less_fin_11() -> None:
    pool = PoolBook(ratio_pct=D("40.00")).contribute(D("100000.00"))
    after, paid = pool.compensate(product_kind="transformation_loan", loss_amount=D("200000.00"), already_claimed=False)
    assert paid == D("80000.00") and after.balance == D("20000.00") and after.is_conserved()
    drained, paid = after.compensate(product_kind="rd_loss_insurance", loss_amount=D("200000.00"), already_claimed=False)
    assert paid == D("20000.00") and drained.balance == D("0.00") and drained.is_conserved()
    with pytest.raises(InvalidState) as refused:
        drained.compensate(product_kind="transformation_loan", loss_amount=D("1.00"), already_claimed=False)
    assert refused.value.rule == "FIN-11"


def test_a_second_claim_or_a_guarantee_uptake_is_refused_fin_11() -> None:
    pool = PoolBook(ratio_pct=D("50.00")).contribute(D("10.00"))
    with pytest.raises(InvalidState) as refused:
        pool.compensate(product_kind="transformation_insurance", loss_amount=D("1.00"), already_claimed=True)
    assert refused.value.rule == "FIN-11"
    with pytest.raises(PolicyViolation) as refused:
        pool.compensate(product_kind="guarantee", loss_amount=D("1.00"), already_claimed=False)
    assert refused.value.rule == "FIN-11"


def test_an_uptake_needs_a_concluded_deal_fin_11() -> None:
    check_uptake(amount=D("1.00"), deal_concluded=True)
    with pytest.raises(PolicyViolation) as refused:
        check_uptake(amount=D("1.00"), deal_concluded=False)
    assert refused.value.rule == "FIN-11"
