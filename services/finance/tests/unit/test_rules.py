"""FIN-1, FIN-2, FIN-6, FIN-7, FIN-8 on the pure domain, each at its edges."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finance.domain.incentives import (
    CashRewardFlags,
    check_recipient,
    completer_ids_of,
    recipient_basis,
)
from finance.domain.incomes import (
    BookIncome,
    EquityStake,
    OpenReceivable,
    effect_of_deal,
    resource_fee_income,
)
from finance.domain.investments import Stake, check_horizontal_investment
from finance.domain.subsidies import (
    Evaluation,
    check_challenge_award,
    check_institution_award,
    entitled_enterprise,
)
from servicekit.errors import InvalidInput, PolicyViolation

D = Decimal


def _investment(**overrides) -> Stake:
    values = dict(
        surplus_amount=D("100000.00"),
        cash_amount=D("100000.00"),
        technology_valuation=D("400000.00"),
        researcher_share_pct=D("90.00"),
        exception_reason=None,
        has_unit_consent=True,
    )
    return check_horizontal_investment(**{**values, **overrides})


def test_researchers_ninety_percent_is_accepted_and_the_state_equity_is_the_units_ten_percent_of_the_stake() -> None:
    assert _investment() == Stake(value=D("500000.00"), unit_share_pct=D("10.00"), state_equity_value=D("50000.00"))


def test_the_units_part_of_the_stake_is_rounded_half_up_to_the_cent() -> None:
    stake = _investment(cash_amount=D("0.05"), technology_valuation=D("0.00"), researcher_share_pct=D("90.00"))
    assert stake.state_equity_value == D("0.01")  # 0.005 → 0.01
    assert _investment(researcher_share_pct=D("100.00")).state_equity_value == D("0.00")


def test_researchers_eighty_nine_point_ninety_nine_without_reason_is_refused_with_fin_2() -> None:
    with pytest.raises(PolicyViolation) as refused:
        _investment(researcher_share_pct=D("89.99"))
    assert refused.value.rule == "FIN-2"
    with pytest.raises(PolicyViolation):
        _investment(researcher_share_pct=D("89.99"), exception_reason="   ")


def test_researchers_below_ninety_with_a_recorded_reason_is_accepted() -> None:
    assert _investment(researcher_share_pct=D("89.99"), exception_reason="单位承担中试场地").state_equity_value == D("50050.00")


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


def test_a_completer_needs_no_note_and_anyone_else_needs_a_contribution_note_fin_6() -> None:
    completers = completer_ids_of([{"person_id": "p1", "name": "王"}, {"person_id": "p2", "name": "李"}])
    assert recipient_basis(person_id="p1", completer_ids=completers, contribution_note=None) == "completer"
    assert recipient_basis(person_id="p9", completer_ids=completers, contribution_note="负责中试放大") == "contribution"
    for note in (None, "   "):
        with pytest.raises(PolicyViolation) as refused:
            recipient_basis(person_id="p9", completer_ids=completers, contribution_note=note)
        assert refused.value.rule == "FIN-6"


def test_without_known_completers_every_recipient_needs_a_contribution_note_fin_6() -> None:
    assert recipient_basis(person_id="p1", completer_ids=None, contribution_note="市场推广") == "contribution"
    with pytest.raises(PolicyViolation) as refused:
        recipient_basis(person_id="p1", completer_ids=None, contribution_note=None)
    assert refused.value.rule == "FIN-6"


def test_a_deal_paid_at_conclusion_is_income_a_pay_later_licence_a_receivable_and_an_investment_neither_fin_1() -> None:
    price = D("300000.00")
    assert effect_of_deal(kind="transfer", price=price, payment=None) == BookIncome(amount=price)
    assert effect_of_deal(kind="license", price=price, payment={"mode": "at_conclusion"}) == BookIncome(amount=price)
    assert effect_of_deal(kind="license", price=price, payment={"mode": "pay_later", "due_on": "2031-06-30", "conditions": "投产后"}) == (
        OpenReceivable(amount=price, due_on=date(2031, 6, 30), conditions="投产后")
    )
    assert effect_of_deal(kind="investment", price=price, payment={"mode": "at_conclusion"}) == EquityStake(value=price)


def test_a_resource_fee_above_zero_is_income_and_an_agreed_return_is_not_fin_1() -> None:
    assert resource_fee_income(mode="resource_fee", fee=D("0.01")) == D("0.01")
    assert resource_fee_income(mode="resource_fee", fee=D("0.00")) is None
    assert resource_fee_income(mode="agreed_return", fee=D("5.00")) is None


EXCELLENT_PARK = Evaluation(kind="science_park", level=None, rating="excellent")


def _institution(kind: str = "science_park", amount: str = "500000.00", evaluation: Evaluation | None = EXCELLENT_PARK) -> None:
    check_institution_award(kind=kind, amount=D(amount), institution_id="i1", year=2030, evaluation=evaluation)


def _refused_fin_8(call, *args, **kwargs) -> None:
    with pytest.raises(PolicyViolation) as refused:
        call(*args, **kwargs)
    assert refused.value.rule == "FIN-8"


def test_excellent_park_award_of_500000_is_allowed_and_one_cent_more_is_refused_fin_8() -> None:
    _institution(amount="500000.00")
    _refused_fin_8(_institution, amount="500000.01")


def test_a_park_not_rated_excellent_or_not_evaluated_that_year_is_refused_fin_8() -> None:
    _refused_fin_8(_institution, evaluation=Evaluation(kind="science_park", level=None, rating="good"))
    _refused_fin_8(_institution, evaluation=None)
    _refused_fin_8(check_institution_award, kind="science_park", amount=D("1.00"), institution_id=None, year=2030, evaluation=EXCELLENT_PARK)


@pytest.mark.parametrize("level", ["provincial", "national"])
def test_a_provincial_or_national_incubator_may_be_awarded_a_municipal_one_not_fin_8(level: str) -> None:
    _institution(kind="incubator", evaluation=Evaluation(kind="incubator", level=level, rating="excellent"))
    _refused_fin_8(_institution, kind="incubator", evaluation=Evaluation(kind="incubator", level="municipal", rating="excellent"))
    _refused_fin_8(_institution, kind="incubator", evaluation=EXCELLENT_PARK)  # a park is not an incubator


LANDED = {"challenge_id": "c1", "direction": "technology_wanted", "enterprise": {"name": "鞍钢", "credit_code": "91210300ABC"}}


def test_challenge_award_goes_to_the_landed_challenges_enterprise_only_fin_8() -> None:
    check_challenge_award(amount=D("2000000.00"), recipient={"name": "鞍钢集团", "credit_code": " 91210300abc "}, landed=LANDED)
    _refused_fin_8(check_challenge_award, amount=D("1.00"), recipient={"credit_code": "91210300XYZ"}, landed=LANDED)
    _refused_fin_8(check_challenge_award, amount=D("1.00"), recipient={"credit_code": "91210300ABC"}, landed=None)


def test_an_older_landed_event_names_the_enterprise_by_direction() -> None:
    publisher, responder = {"credit_code": "P"}, {"credit_code": "R"}
    assert entitled_enterprise({"direction": "technology_wanted", "publisher": publisher, "responder": responder}) == publisher
    assert entitled_enterprise({"direction": "market_wanted", "publisher": publisher, "responder": responder}) == responder
    assert entitled_enterprise({"publisher": publisher}) is None
