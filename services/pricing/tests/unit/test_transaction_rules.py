"""The pricing state machine and rules at their edges (pure, no I/O)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pricing.domain.challenges import award, land, publisher_role
from pricing.domain.gates import AchievementFacts, PartyFacts, check_transaction_gates
from pricing.domain.transactions import (
    Action,
    Appraisal,
    Bid,
    State,
    check_agreement_terms,
    check_appraisal,
    check_bid,
    check_delisting_time,
    check_method,
    check_objection_time,
    due_action,
    listing_closes_at,
    listing_price,
    next_state,
    notice_ends_at,
    winning_bid,
)
from servicekit.errors import InvalidState, PolicyViolation

T = datetime(2030, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def rule_of(call, *args, **kwargs) -> str | None:
    try:
        call(*args, **kwargs)
    except (PolicyViolation, InvalidState) as error:
        return error.rule
    return None


def test_wholly_state_owned_counterparty_needs_no_appraisal_prc_1() -> None:
    assert rule_of(check_appraisal, "wholly_state_owned", None) is None


def test_other_or_unknown_counterparty_needs_the_decision_prc_2() -> None:
    assert rule_of(check_appraisal, "other", None) == "PRC-2"
    assert rule_of(check_appraisal, None, None) == "PRC-2"
    assert rule_of(check_appraisal, "other", Appraisal(performed=False)) is None
    assert rule_of(check_appraisal, "other", Appraisal(performed=True, value=Decimal("1.00"))) == "PRC-2"
    assert rule_of(check_appraisal, "other", Appraisal(performed=True, value=Decimal("1.00"), report_reference="R")) is None


def test_methods_prc_3() -> None:
    assert [rule_of(check_method, m) for m in ("agreement", "listing", "auction", "lottery")] == [None, None, None, "PRC-3"]


def test_agreement_needs_counterparty_and_price_prc_4() -> None:
    assert rule_of(check_agreement_terms, "agreement", True, None) == "PRC-4"
    assert rule_of(check_agreement_terms, "agreement", False, Decimal("1.00")) == "PRC-4"
    assert rule_of(check_agreement_terms, "agreement", True, Decimal("0.01")) is None
    assert rule_of(check_agreement_terms, "listing", False, None) is None


def test_notice_ends_after_notice_days_of_24_hours_prc_4() -> None:
    assert notice_ends_at(T, 15) == T + timedelta(days=15)


def test_objection_until_but_not_at_the_end_prc_5() -> None:
    end = notice_ends_at(T, 15)
    assert rule_of(check_objection_time, end - SECOND, end) is None
    assert rule_of(check_objection_time, end, end) == "PRC-5"


def test_notice_end_decides_clear_or_objected_prc_5() -> None:
    end = T + timedelta(days=15)
    assert due_action(State.IN_NOTICE, end, end - SECOND) is None
    assert due_action(State.IN_NOTICE, end, end) is Action.CLOSE_NOTICE_CLEAR
    assert due_action(State.IN_NOTICE, end, end, objected=True) is Action.CLOSE_NOTICE_OBJECTED


def test_conclusion_only_after_clear_notice_or_expired_listing() -> None:
    assert next_state("agreement", State.NOTICE_CLEAR, Action.CONCLUDE) is State.CONCLUDED
    assert next_state("agreement", State.LISTING_EXPIRED, Action.CONCLUDE) is State.CONCLUDED
    assert rule_of(next_state, "agreement", State.IN_NOTICE, Action.CONCLUDE) == "PRC-4"
    assert rule_of(next_state, "agreement", State.DRAFT, Action.CONCLUDE) == "PRC-4"
    assert rule_of(next_state, "agreement", State.NOTICE_OBJECTED, Action.CONCLUDE) == "PRC-6"


def test_listing_after_objection_is_at_the_agreement_price_prc_6() -> None:
    assert listing_price("agreement", Decimal("5.00"), None) == Decimal("5.00")
    assert listing_price("agreement", Decimal("5.00"), Decimal("5.00")) == Decimal("5.00")
    assert rule_of(listing_price, "agreement", Decimal("5.00"), Decimal("4.99")) == "PRC-6"
    assert rule_of(listing_price, "listing", None, None) == "PRC-3"
    assert rule_of(next_state, "agreement", State.NOTICE_CLEAR, Action.PUBLISH_LISTING) == "PRC-6"


def test_listing_runs_fifteen_days_prc_6() -> None:
    closes = listing_closes_at(T)
    assert closes == T + timedelta(days=15)
    assert rule_of(check_delisting_time, closes - SECOND, closes) is None
    assert rule_of(check_delisting_time, closes, closes) == "PRC-6"
    assert due_action(State.LISTED, closes, closes) is Action.EXPIRE_LISTING


def test_only_the_first_delisting_wins_prc_7() -> None:
    assert next_state("listing", State.LISTED, Action.DELIST) is State.CONCLUDED
    assert rule_of(next_state, "listing", State.CONCLUDED, Action.DELIST) == "PRC-7"


def test_highest_bid_at_or_above_reserve_wins_prc_8() -> None:
    reserve = Decimal("100.00")
    assert winning_bid([Bid(1, Decimal("99.99"))], reserve) is None
    assert winning_bid([Bid(1, Decimal("100.00"))], reserve) == Bid(1, Decimal("100.00"))
    assert winning_bid([Bid(1, Decimal("120.00")), Bid(2, Decimal("130.00")), Bid(3, Decimal("130.00"))], reserve) == Bid(2, Decimal("130.00"))
    assert rule_of(check_bid, T - SECOND, T, Decimal("1.00")) is None
    assert rule_of(check_bid, T, T, Decimal("1.00")) == "PRC-8"
    assert due_action(State.AUCTION_OPEN, T, T, has_winning_bid=False) is Action.CLOSE_AUCTION_FAILED


def test_gates_own_13_14_15() -> None:
    plain = AchievementFacts(False, False, False, frozenset())
    assert rule_of(check_transaction_gates, plain, PartyFacts("enterprise", True)) == "OWN-13"
    assert rule_of(check_transaction_gates, AchievementFacts(False, False, False, frozenset({"export_control"})),
                   PartyFacts("enterprise", True)) is None
    classified = AchievementFacts(True, False, False, frozenset({"secrecy_approval"}))
    assert rule_of(check_transaction_gates, classified, PartyFacts("individual", False)) == "OWN-14"
    both = AchievementFacts(True, True, False, frozenset({"secrecy_approval", "confidentiality_agreement"}))
    assert rule_of(check_transaction_gates, both, PartyFacts("enterprise", False)) is None
    assert rule_of(check_transaction_gates, AchievementFacts(False, False, True, frozenset()), PartyFacts("enterprise", False)) == "OWN-15"


def test_challenge_lifecycle_prc_10() -> None:
    assert publisher_role("technology_wanted") == "enterprise"
    assert publisher_role("market_wanted") == "unit_admin"
    assert rule_of(land, "open") == "PRC-10"
    assert award("open") == "awarded" and land("awarded") == "landed"
    assert rule_of(award, "awarded") == "PRC-10"


@pytest.mark.parametrize("state", [State.LISTED, State.AUCTION_OPEN, State.CONCLUDED, State.WITHDRAWN])
def test_no_withdrawal_while_a_third_party_can_still_take_it_or_after_the_end(state: State) -> None:
    with pytest.raises(InvalidState):
        next_state("agreement" if state is not State.AUCTION_OPEN else "auction", state, Action.WITHDRAW)
