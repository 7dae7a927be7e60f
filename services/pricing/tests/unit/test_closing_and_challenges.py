"""The time-driven closing (PRC-4…8, PRC-11), challenge states (PRC-10) and objections (PRC-5) as pure decisions."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from pricing.domain import challenges as rules
from pricing.domain.closing import AuctionBidFacts, Due, close_due
from pricing.domain.conflicts import Claim, Rights
from pricing.domain.objections import ANONYMOUS_PER_MINUTE, Contact, check_contact, over_rate_limit
from pricing.domain.transactions import State
from servicekit.errors import InvalidState, PolicyViolation

T = datetime(2031, 5, 10, 2, 0, tzinfo=UTC)
BIDS = (AuctionBidFacts("b-1", 1, Decimal("90.00"), {"name": "甲"}), AuctionBidFacts("b-2", 2, Decimal("120.00"), {"name": "乙"}))


def auction(rights: Rights | None, own: tuple[Claim, ...] = ()) -> Due:
    return Due("auction", "auction_open", T, "a-1", T, reserve_price=Decimal("100.00"), bids=BIDS,
               candidate=Claim("t-1", "license", False), rights=rights, own_claims=own)


def test_a_notice_closes_at_its_end_clear_or_objected() -> None:
    due = Due("agreement", "in_notice", T, "n-1", T, objection_count=0)
    assert close_due(due, T - timedelta(microseconds=1)) is None
    closing = close_due(due, T)
    assert closing is not None and closing.state is State.NOTICE_CLEAR and closing.phase_state == "clear"
    assert [s.step for s in closing.steps] == ["notice_closed"] and closing.events == ("pricing.notice.closed",)
    objected = close_due(Due("agreement", "in_notice", T, "n-1", T, objection_count=2), T)
    assert objected is not None and objected.state is State.NOTICE_OBJECTED and objected.steps[0].details["objected"] is True


def test_an_auction_closes_with_the_highest_valid_bid_when_the_unit_still_holds_the_achievement() -> None:
    closing = close_due(auction(Rights(status="held")), T)
    assert closing is not None and closing.state is State.CONCLUDED and closing.winner == BIDS[1]
    assert closing.events == ("pricing.deal.concluded",)


def test_an_auction_whose_deal_conflicts_closes_without_a_deal_prc_11() -> None:
    closing = close_due(auction(Rights(status="disposed")), T)
    assert closing is not None and closing.state is State.AUCTION_FAILED and closing.winner is None
    assert closing.refused_rule == "PRC-11" and closing.steps[0].details["refused"]["rule"] == "PRC-11"


def test_a_won_auction_waits_for_the_rights_record_before_it_concludes() -> None:
    assert close_due(auction(None), T) is None


def test_challenge_responses_run_through_the_closing_day_then_it_reads_closed() -> None:
    closes_on = date(2031, 6, 30)
    rules.check_open_for_responses("open", closes_on, date(2031, 6, 30))
    with pytest.raises(InvalidState) as caught:
        rules.check_open_for_responses("open", closes_on, date(2031, 7, 1))
    assert caught.value.rule == "PRC-10"
    assert rules.effective_state("open", closes_on, date(2031, 7, 1)) is rules.ChallengeState.CLOSED
    assert rules.effective_state("awarded", closes_on, date(2031, 7, 1)) is rules.ChallengeState.AWARDED


def test_a_challenge_is_awarded_once() -> None:
    assert rules.award("open") is rules.ChallengeState.AWARDED
    with pytest.raises(InvalidState) as caught:
        rules.award("awarded")
    assert caught.value.rule == "PRC-10"


def test_the_subsidy_goes_to_the_enterprise_of_the_challenge() -> None:
    publisher, responder = {"name": "甲企业", "credit_code": "A", "x": 1}, {"name": "乙企业", "credit_code": "B"}
    assert rules.entitled_enterprise("technology_wanted", publisher, responder) == {"name": "甲企业", "credit_code": "A"}
    assert rules.entitled_enterprise("market_wanted", publisher, responder) == responder


def test_a_challenge_names_field_region_and_a_closing_day_not_past() -> None:
    rules.check_listing_terms("新材料", "沈阳", date(2031, 5, 10), date(2031, 5, 10))
    for field, region, closes_on in (("", "沈阳", date(2031, 6, 1)), ("新材料", None, date(2031, 6, 1)), ("新材料", "沈阳", None),
                                     ("新材料", "沈阳", date(2031, 5, 9))):
        with pytest.raises(PolicyViolation) as caught:
            rules.check_listing_terms(field, region, closes_on, date(2031, 5, 10))
        assert caught.value.rule == "PRC-10"


def test_an_anonymous_objection_needs_a_name_and_a_phone_or_email() -> None:
    check_contact(True, None)
    check_contact(False, Contact(name="王五", phone="13800000000"))
    check_contact(False, Contact(name="王五", email="w@example.cn"))
    for contact in (None, Contact(name="王五"), Contact(name=" ", phone="1"), Contact(name=None, email="w@example.cn")):
        with pytest.raises(PolicyViolation) as caught:
            check_contact(False, contact)
        assert caught.value.rule == "PRC-5"


def test_the_anonymous_allowance_is_ten_a_minute() -> None:
    assert not over_rate_limit(ANONYMOUS_PER_MINUTE - 1) and over_rate_limit(ANONYMOUS_PER_MINUTE)
    assert ANONYMOUS_PER_MINUTE >= 10
