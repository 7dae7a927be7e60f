"""OWN-16 / PRC-11 conflict table and OWN-9 / PRC-12 terms at their edges, without I/O."""
from __future__ import annotations

from datetime import date

import pytest

from pricing.domain.conflicts import Claim, Rights, Term, check_no_conflict
from pricing.domain.terms import Licence, Payment, check_payment, licence_of, technology_manager_ids_of
from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

HELD = Rights(status="held")
D = date


def licence(scope: str, start: date, end: date | None = None, *, tx: str | None = "t-new", concluded: bool = False) -> Claim:
    return Claim(transaction_id=tx, kind="license", concluded=concluded, term=Term(scope, start, end))


def transfer(tx: str = "t-1", *, concluded: bool = False, kind: str = "transfer") -> Claim:
    return Claim(transaction_id=tx, kind=kind, concluded=concluded)


def refused(candidate: Claim, rights: Rights = HELD, own: tuple[Claim, ...] = (), rule: str = "OWN-16") -> str:
    with pytest.raises(InvalidState) as caught:
        check_no_conflict(candidate, rights, own, rule=rule)
    assert caught.value.rule == rule
    return caught.value.detail


def test_nothing_opens_for_a_disposed_achievement() -> None:
    refused(licence("ordinary", D(2031, 1, 1)), Rights(status="disposed"))
    check_no_conflict(licence("ordinary", D(2031, 1, 1)), Rights(status="partly_disposed"), (), rule="OWN-16")


def test_a_concluded_transfer_or_investment_disposes_of_the_achievement_before_ownership_knows() -> None:
    refused(licence("ordinary", D(2031, 1, 1)), own=(transfer(concluded=True),))
    refused(licence("ordinary", D(2031, 1, 1)), own=(transfer(concluded=True, kind="investment"),), rule="PRC-11")
    check_no_conflict(licence("ordinary", D(2031, 1, 1)), HELD, (transfer(concluded=False),), rule="OWN-16")


def test_one_open_transfer_or_investment_at_a_time() -> None:
    refused(transfer("t-2"), own=(transfer("t-1"),))
    refused(transfer("t-2", kind="investment"), own=(transfer("t-1"),))
    check_no_conflict(transfer("t-1"), HELD, (transfer("t-1"),), rule="PRC-11")  # itself is no conflict
    check_no_conflict(transfer("t-2"), HELD, (licence("exclusive", D(2031, 1, 1), tx="t-1"),), rule="OWN-16")


def test_an_exclusive_licence_in_force_refuses_an_overlapping_ordinary_one_and_its_expiry_allows_it() -> None:
    in_force = Rights(status="partly_disposed", licences=(licence("exclusive", D(2030, 1, 1), D(2031, 12, 31), tx="t-0", concluded=True),))
    refused(licence("ordinary", D(2031, 12, 31)), in_force)  # last day of the exclusive one
    check_no_conflict(licence("ordinary", D(2032, 1, 1)), in_force, (), rule="OWN-16")  # the day after


def test_sole_licences_conflict_with_open_ones_too_and_ordinary_ones_never_conflict() -> None:
    refused(licence("sole", D(2031, 1, 1)), own=(licence("ordinary", D(2030, 1, 1), tx="t-1"),))
    refused(licence("ordinary", D(2031, 1, 1)), own=(licence("sole", D(2030, 1, 1), tx="t-1"),))
    check_no_conflict(licence("ordinary", D(2031, 1, 1)), HELD, (licence("ordinary", D(2030, 1, 1), tx="t-1"),), rule="OWN-16")
    check_no_conflict(licence("exclusive", D(2031, 1, 1), D(2031, 6, 30)), HELD,
                      (licence("exclusive", D(2031, 7, 1), tx="t-1"),), rule="OWN-16")


def test_a_licence_known_to_both_pricing_and_ownership_counts_once() -> None:
    mine = licence("exclusive", D(2030, 1, 1), tx="t-1", concluded=True)
    rights = Rights(status="partly_disposed", licences=(mine,))
    check_no_conflict(licence("exclusive", D(2030, 1, 1), tx="t-1", concluded=True), rights, (mine,), rule="PRC-11")


def test_pay_later_needs_a_licence_by_agreement_to_an_sme_with_due_date_and_conditions() -> None:
    ok = Payment(mode="pay_later", due_on=D(2032, 6, 30), conditions="首年销售收入达到500万元后支付")
    for size in ("micro", "small", "medium"):
        check_payment(ok, kind="license", method="agreement", counterparty_size=size, national_interest=False)
    for size in ("large", None):
        with pytest.raises(PolicyViolation) as caught:
            check_payment(ok, kind="license", method="agreement", counterparty_size=size, national_interest=False)
        assert caught.value.rule == "OWN-9"
    for kind, method in (("transfer", "agreement"), ("license", "listing")):
        with pytest.raises(PolicyViolation, match="agreement price"):
            check_payment(ok, kind=kind, method=method, counterparty_size="small", national_interest=False)
    for missing in (Payment(mode="pay_later", conditions="x"), Payment(mode="pay_later", due_on=D(2032, 1, 1), conditions=" ")):
        with pytest.raises(PolicyViolation) as caught:
            check_payment(missing, kind="license", method="agreement", counterparty_size="small", national_interest=False)
        assert caught.value.rule == "OWN-9"
    with pytest.raises(PolicyViolation) as caught:
        check_payment(ok, kind="license", method="agreement", counterparty_size="small", national_interest=True)
    assert caught.value.rule == "OWN-12"
    check_payment(Payment(), kind="transfer", method="auction", counterparty_size=None, national_interest=True)


def test_licence_terms_default_to_ordinary_and_belong_to_licences_only() -> None:
    assert licence_of("license", None) == Licence(scope="ordinary")
    assert licence_of("transfer", None) is None
    with pytest.raises(InvalidInput):
        licence_of("transfer", Licence(scope="exclusive"))
    with pytest.raises(InvalidInput):
        licence_of("license", Licence(start_on=D(2031, 1, 2), end_on=D(2031, 1, 1)))
    assert Licence().term(opened_on=D(2031, 5, 1)) == Term("ordinary", D(2031, 5, 1), None)


def test_technology_managers_are_named_once_each() -> None:
    assert technology_manager_ids_of(["m-2", "m-1", "m-2"]) == ["m-2", "m-1"]
    assert technology_manager_ids_of(None) == []
