"""FIN-2, FIN-6, FIN-7, FIN-8, FIN-9 on the pure domain, each at its edges."""
from __future__ import annotations

from decimal import Decimal

import pytest

from finance.domain.incentives import CashRewardFlags, check_recipient
from finance.domain.investments import check_horizontal_investment
from finance.domain.subsidies import check_subsidy, settle_receivable, trigger_receivable
from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

D = Decimal


def _investment(**overrides) -> Decimal:
    values = dict(
        surplus_amount=D("100000.00"),
        cash_amount=D("100000.00"),
        technology_valuation=D("400000.00"),
        researcher_share_pct=D("90.00"),
        exception_reason=None,
        has_unit_consent=True,
    )
    return check_horizontal_investment(**{**values, **overrides})


def test_researchers_ninety_percent_is_accepted_and_state_equity_is_technology_plus_cash() -> None:
    assert _investment() == D("500000.00")


def test_researchers_eighty_nine_point_ninety_nine_without_reason_is_refused_with_fin_2() -> None:
    with pytest.raises(PolicyViolation) as refused:
        _investment(researcher_share_pct=D("89.99"))
    assert refused.value.rule == "FIN-2"
    with pytest.raises(PolicyViolation):
        _investment(researcher_share_pct=D("89.99"), exception_reason="   ")


def test_researchers_below_ninety_with_a_recorded_reason_is_accepted() -> None:
    assert _investment(researcher_share_pct=D("89.99"), exception_reason="单位承担中试场地") == D("500000.00")


def test_missing_unit_consent_is_refused_with_fin_2() -> None:
    with pytest.raises(PolicyViolation) as refused:
        _investment(has_unit_consent=False)
    assert refused.value.rule == "FIN-2"


def test_cash_above_the_surplus_is_refused_with_fin_2() -> None:
    with pytest.raises(PolicyViolation) as refused:
        _investment(cash_amount=D("100000.01"))
    assert refused.value.rule == "FIN-2"


def test_principal_leader_gets_cash_with_the_three_fin_7_flags() -> None:
    flags = check_recipient(role="leader", leader_rank="principal", form="cash", amount=D("1.00"), share_pct=None)
    assert flags == CashRewardFlags(counts_in_performance_pay_total=True, in_next_year_base=False, in_social_insurance_base=False)


@pytest.mark.parametrize("form", ["shares", "contribution"])
def test_principal_leader_equity_reward_is_refused_with_fin_6_and_deputy_is_allowed(form: str) -> None:
    with pytest.raises(PolicyViolation) as refused:
        check_recipient(role="leader", leader_rank="principal", form=form, amount=None, share_pct=D("5.00"))
    assert refused.value.rule == "FIN-6"
    assert check_recipient(role="leader", leader_rank="deputy", form=form, amount=None, share_pct=D("5.00")) is None


def test_leader_without_rank_is_refused_with_fin_6() -> None:
    with pytest.raises(PolicyViolation) as refused:
        check_recipient(role="leader", leader_rank=None, form="cash", amount=D("1.00"), share_pct=None)
    assert refused.value.rule == "FIN-6"


def test_cash_without_amount_and_shares_without_pct_are_invalid() -> None:
    with pytest.raises(InvalidInput):
        check_recipient(role="researcher", leader_rank=None, form="cash", amount=None, share_pct=None)
    with pytest.raises(InvalidInput):
        check_recipient(role="researcher", leader_rank=None, form="shares", amount=None, share_pct=None)
    with pytest.raises(InvalidInput):
        check_recipient(role="researcher", leader_rank=None, form="shares", amount=None, share_pct=D("100.01"))


@pytest.mark.parametrize("kind", ["science_park", "incubator"])
def test_park_or_incubator_award_of_500000_is_allowed_and_one_cent_more_is_refused(kind: str) -> None:
    check_subsidy(kind=kind, amount=D("500000.00"), challenge_landed=None)
    with pytest.raises(PolicyViolation) as refused:
        check_subsidy(kind=kind, amount=D("500000.01"), challenge_landed=None)
    assert refused.value.rule == "FIN-8"


def test_challenge_award_needs_a_landed_challenge() -> None:
    check_subsidy(kind="challenge_award", amount=D("2000000.00"), challenge_landed=True)
    with pytest.raises(PolicyViolation) as refused:
        check_subsidy(kind="challenge_award", amount=D("1.00"), challenge_landed=False)
    assert refused.value.rule == "FIN-8"


def test_receivable_falls_due_only_from_contingent_and_settles_only_when_due() -> None:
    assert trigger_receivable(state="contingent", event="listing", amount=D("1.00")) == "due"
    with pytest.raises(InvalidState) as refused:
        trigger_receivable(state="due", event="equity_transfer", amount=D("1.00"))
    assert refused.value.rule == "FIN-9"
    assert settle_receivable(state="due") == "settled"
    with pytest.raises(InvalidState) as refused:
        settle_receivable(state="contingent")
    assert refused.value.rule == "FIN-9"
