"""Pure rule tests: every OWN rule of the domain at its edges, no fixtures, no I/O."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ownership.domain import empowerment as e
from ownership.domain import pool as p
from ownership.domain import transformation as t
from ownership.domain.gates import Action, SecurityFacts, check_gates
from servicekit.errors import InvalidState, PolicyViolation


def rule_of(call) -> str | None:
    try:
        call()
    except (PolicyViolation, InvalidState) as exc:
        return exc.rule
    return None


def test_own_1_shares_must_add_to_100_with_both_shares_positive() -> None:
    assert rule_of(lambda: e.check_shares(Decimal("0.01"), Decimal("99.99"))) is None
    assert rule_of(lambda: e.check_shares(Decimal("99.99"), Decimal("0.01"))) is None
    assert rule_of(lambda: e.check_shares(Decimal("100.00"), Decimal("0.00"))) == "OWN-1"
    assert rule_of(lambda: e.check_shares(Decimal("0.00"), Decimal("100.00"))) == "OWN-1"
    assert rule_of(lambda: e.check_shares(Decimal("60.00"), Decimal("39.99"))) == "OWN-1"
    assert rule_of(lambda: e.check_shares(Decimal("100.01"), Decimal("-0.01"))) == "OWN-1"
    assert rule_of(lambda: e.check_shares(None, Decimal("40.00"))) == "OWN-1"


def test_own_2_usage_right_of_exactly_ten_years_passes_and_one_day_less_fails() -> None:
    assert rule_of(lambda: e.check_usage_right_term(date(2030, 1, 1), date(2040, 1, 1))) is None
    assert rule_of(lambda: e.check_usage_right_term(date(2030, 1, 1), date(2039, 12, 31))) == "OWN-2"
    assert rule_of(lambda: e.check_usage_right_term(date(2028, 2, 29), date(2038, 2, 28))) is None
    assert rule_of(lambda: e.check_usage_right_term(date(2028, 2, 29), date(2038, 2, 27))) == "OWN-2"
    assert rule_of(lambda: e.check_usage_right_term(None, date(2040, 1, 1))) == "OWN-2"
    assert rule_of(lambda: e.check_usage_right_term(date(9995, 1, 1), date(9999, 12, 31))) == "OWN-2"


def test_own_4_conversion_only_during_the_term_with_both_consents() -> None:
    end = date(2040, 1, 1)
    assert rule_of(lambda: e.check_conversion("usage_right", end, end, unit_consent=True, team_consent=True)) is None
    after = date(2040, 1, 2)
    assert rule_of(lambda: e.check_conversion("usage_right", end, after, unit_consent=True, team_consent=True)) == "OWN-4"
    assert rule_of(lambda: e.check_conversion("usage_right", end, end, unit_consent=True, team_consent=False)) == "OWN-4"
    assert rule_of(lambda: e.check_conversion("ownership", None, end, unit_consent=True, team_consent=True)) == "OWN-4"


def test_own_5_decision_needs_body_date_and_reference() -> None:
    assert rule_of(lambda: e.check_decision("OWN-5", "校长办公会", date(2030, 1, 1), "大工〔2030〕1号")) is None
    assert rule_of(lambda: e.check_decision("OWN-5", "校长办公会", date(2030, 1, 1), "  ")) == "OWN-5"
    assert rule_of(lambda: e.check_decision("OWN-5", None, date(2030, 1, 1), "x")) == "OWN-5"
    assert rule_of(lambda: e.check_decision("OWN-5", "x", None, "x")) == "OWN-5"


def test_own_6_patent_change_is_overdue_only_after_its_due_day() -> None:
    due = e.patent_change_due_on(date(2030, 1, 1), 90)
    assert due == date(2030, 4, 1)
    assert e.patent_change_state("pending", due, due) == "pending"
    assert e.patent_change_state("pending", due, date(2030, 4, 2)) == "overdue"
    assert e.patent_change_state("registered", due, date(2031, 1, 1)) == "registered"
    assert rule_of(lambda: e.check_patent_change_open("registered")) == "OWN-6"


def test_own_7_an_achievement_is_separately_managed_once() -> None:
    assert rule_of(lambda: t.check_not_separately_managed(False)) is None
    assert rule_of(lambda: t.check_not_separately_managed(True)) == "OWN-7"


def test_own_10_pool_age_edge_and_exclusions() -> None:
    today = date(2030, 6, 15)
    member = dict(transformed=False, national_interest=False, excluded=False, today=today)
    assert p.is_pool_member(first_granted_on=date(2027, 6, 15), **member)
    assert not p.is_pool_member(first_granted_on=date(2027, 6, 16), **member)
    assert not p.is_pool_member(first_granted_on=None, **member)
    assert not p.is_pool_member(first_granted_on=date(2020, 1, 1), **{**member, "transformed": True})
    assert not p.is_pool_member(first_granted_on=date(2020, 1, 1), **{**member, "excluded": True})
    assert rule_of(lambda: p.check_exclusion_reason("  ")) == "OWN-10"
    assert rule_of(lambda: p.check_exclusion_reason("企业已签意向")) is None


def test_own_10_leap_day_grant_reaches_three_years_on_28_february() -> None:
    assert p.pool_cutoff(date(2027, 2, 28)) == date(2024, 2, 29)
    assert p.pool_cutoff(date(2028, 2, 29)) == date(2025, 2, 28)
    assert p.pool_cutoff(date(2027, 3, 1)) == date(2024, 3, 1)


def test_own_11_equity_transfer_needs_ownership_and_separate_management() -> None:
    ok = dict(has_ownership_empowerment=True, separately_managed=True, unit_share=Decimal("30.00"),
              mode="resource_fee", fee=Decimal("1000.00"), has_enterprise=False)
    assert rule_of(lambda: t.check_equity_transfer(**ok)) is None
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "separately_managed": False})) == "OWN-11"
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "has_ownership_empowerment": False})) == "OWN-11"
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "fee": None})) == "OWN-11"
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "mode": "agreed_return", "fee": None})) == "OWN-11"
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "mode": "agreed_return", "has_enterprise": True})) is None
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "unit_share": Decimal("0.00")})) == "OWN-11"
    assert rule_of(lambda: t.check_equity_transfer(**{**ok, "fee": Decimal("-1.00")})) == "OWN-11"


def facts(**flags) -> SecurityFacts:
    base = dict(national_interest=False, classified=False, key_core_technology=False,
                ethics_review_required=False, record_kinds=frozenset())
    return SecurityFacts(**{**base, **flags})


@pytest.mark.parametrize("action", [Action.EMPOWERMENT, Action.SEPARATE_MANAGEMENT, Action.PAY_LATER_LICENCE])
def test_own_12_national_interest_is_excluded(action: Action) -> None:
    assert rule_of(lambda: check_gates(facts(national_interest=True), action)) == "OWN-12"
    assert rule_of(lambda: check_gates(facts(), action)) is None


def test_own_13_overseas_needs_export_control() -> None:
    assert rule_of(lambda: check_gates(facts(), Action.EMPOWERMENT, overseas=True)) == "OWN-13"
    with_record = facts(record_kinds=frozenset({"export_control"}))
    assert rule_of(lambda: check_gates(with_record, Action.EMPOWERMENT, overseas=True)) is None


def test_own_14_classified_or_key_core_needs_both_records() -> None:
    for flag in ("classified", "key_core_technology"):
        one = facts(**{flag: True, "record_kinds": frozenset({"secrecy_approval"})})
        both = facts(**{flag: True, "record_kinds": frozenset({"secrecy_approval", "confidentiality_agreement"})})
        assert rule_of(lambda f=one: check_gates(f, Action.EMPOWERMENT)) == "OWN-14"
        assert rule_of(lambda f=both: check_gates(f, Action.PAY_LATER_LICENCE)) is None
    # Separate management is neither empowerment nor transformation (M (十五)).
    assert rule_of(lambda: check_gates(facts(classified=True), Action.SEPARATE_MANAGEMENT)) is None


def test_own_15_ethics_review_record_first() -> None:
    assert rule_of(lambda: check_gates(facts(ethics_review_required=True), Action.EMPOWERMENT)) == "OWN-15"
    ok = facts(ethics_review_required=True, record_kinds=frozenset({"ethics_review"}))
    assert rule_of(lambda: check_gates(ok, Action.EMPOWERMENT)) is None
