"""The Achievement aggregate without I/O: the rights record (OWN-16), OWN-3 as revised, OWN-11, OWN-17, deals."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from ownership.domain.achievement import Achievement
from ownership.domain.rights import OpenTransaction, RightsStatus, rights_from_json, rights_to_json
from ownership.domain.transactions import closing_state
from servicekit.errors import InvalidState, PolicyViolation

TODAY = date(2030, 3, 1)
NOW = datetime(2030, 3, 1, 2, 0, tzinfo=UTC)
DECISION = {"body": "校长办公会", "date": "2030-01-10", "reference": "大工办〔2030〕3号"}
BUYER = {"name": "辽宁某科技有限公司", "credit_code": "91210000X"}


def fresh(**overrides: object) -> Achievement:
    base: dict[str, object] = dict(
        id="a1", unit_id="u1", version=1,
        ip_rights=({"type": "invention_patent", "number": "ZL1", "granted_on": "2020-05-01"},),
        completers=({"person_id": "p1", "name": "张三"},), department="化工学院", field="新材料",
        security={"national_interest": False, "classified": False, "key_core_technology": False},
        ethics_review_required=False,
    )
    base.update(overrides)
    return Achievement(**base)  # type: ignore[arg-type]


def owned(team: str = "70.00", unit: str = "30.00", **overrides: object) -> Achievement:
    return fresh(**overrides).grant_empowerment(
        empowerment_id="e1", type="ownership", team_share=Decimal(team), unit_share=Decimal(unit), start_on=None,
        end_on=None, overseas=False, decision=DECISION, patent_change_due_on=date(2030, 5, 30), today=TODAY,
    ).achievement


def usage_right(end_on: date = date(2040, 3, 1)) -> Achievement:
    return fresh().grant_empowerment(
        empowerment_id="e1", type="usage_right", team_share=None, unit_share=None, start_on=date(2030, 3, 1),
        end_on=end_on, overseas=False, decision=DECISION, patent_change_due_on=date(2030, 5, 30), today=TODAY,
    ).achievement


def deal(a: Achievement, kind: str, transaction_id: str = "t1", licence: dict | None = None, pay_later: bool = False) -> Achievement:
    return a.conclude_deal(
        transaction_id=transaction_id, kind=kind, counterparty=BUYER, price=Decimal("100000.00"), licence=licence,
        pay_later=pay_later, concluded_at=NOW, concluded_on=TODAY,
    )


def rule_of(call) -> str | None:
    try:
        call()
    except (PolicyViolation, InvalidState) as exc:
        return exc.rule
    return None


def test_own_16_a_fresh_achievement_is_held_by_the_unit_alone() -> None:
    a = fresh()
    assert a.status(TODAY) == RightsStatus.HELD and a.shares() == (Decimal("100.00"), Decimal("0.00"))


def test_own_16_co_ownership_is_partly_disposed_and_the_whole_share_passing_disposes() -> None:
    a = owned(separately_managed=True)
    assert a.status(TODAY) == RightsStatus.PARTLY_DISPOSED and a.shares() == (Decimal("30.00"), Decimal("70.00"))
    decided = a.transfer_equity(transfer_id="x1", mode="resource_fee", fee=Decimal("1.00"), enterprise=None, decision=DECISION)
    assert decided.achievement.status(TODAY) == RightsStatus.DISPOSED
    assert decided.achievement.shares() == (Decimal("0.00"), Decimal("100.00"))
    assert [e.type for e in decided.events] == ["ownership.equity_transfer.completed"]


def test_own_16_a_concluded_transfer_disposes_and_no_empowerment_follows() -> None:
    a = deal(fresh(), "transfer")
    assert a.status(TODAY) == RightsStatus.DISPOSED and a.transformed
    assert rule_of(lambda: a.grant_empowerment(
        empowerment_id="e9", type="ownership", team_share=Decimal("50.00"), unit_share=Decimal("50.00"),
        start_on=None, end_on=None, overseas=False, decision=DECISION, patent_change_due_on=TODAY, today=TODAY,
    )) == "OWN-16"


def test_own_16_a_second_ownership_empowerment_is_refused() -> None:
    a = owned()
    assert rule_of(lambda: a.grant_empowerment(
        empowerment_id="e2", type="ownership", team_share=Decimal("50.00"), unit_share=Decimal("50.00"),
        start_on=None, end_on=None, overseas=False, decision=DECISION, patent_change_due_on=TODAY, today=TODAY,
    )) == "OWN-16"


def test_own_16_licence_is_in_force_until_its_end_day_then_the_achievement_is_held_again() -> None:
    a = deal(fresh(), "license", licence={"scope": "exclusive", "start_on": "2030-03-01", "end_on": "2031-02-28"})
    [licence] = a.rights.licences
    assert (licence.scope, licence.pay_later) == ("exclusive", False)
    assert a.status(date(2031, 2, 28)) == RightsStatus.PARTLY_DISPOSED
    assert a.status(date(2031, 3, 1)) == RightsStatus.HELD
    assert a.transformed and not a.in_pool(TODAY)


def with_open(a: Achievement, *transactions: OpenTransaction) -> Achievement:
    return replace(a, rights=replace(a.rights, open_transactions=transactions))


def test_own_9_a_pay_later_licence_deal_records_a_pay_later_licence_starting_when_it_opened() -> None:
    a = with_open(fresh(), OpenTransaction("t1", "license", "ordinary", None, None, date(2030, 2, 1)))
    a = deal(a, "license", licence={"scope": "ordinary", "start_on": None, "end_on": None}, pay_later=True)
    [licence] = a.rights.licences
    assert licence.pay_later and licence.start_on == date(2030, 2, 1) and licence.end_on is None
    assert a.rights.open_transactions == ()


def test_a_deal_applies_once() -> None:
    a = deal(fresh(), "investment")
    assert deal(a, "investment") is a
    assert a.status(TODAY) == RightsStatus.PARTLY_DISPOSED and len(a.rights.investments) == 1


def test_a_withdrawal_or_an_auction_without_winner_closes_and_nothing_reopens() -> None:
    assert closing_state("open", "withdrawn", {}) == "closed"
    assert closing_state("open", "auction_closed", {"winning_bid_id": None}) == "closed"
    assert closing_state("open", "auction_closed", {"winning_bid_id": "b1"}) == "open"
    assert closing_state("open", "notice_published", {}) == "open"
    assert closing_state("concluded", "withdrawn", {}) == "concluded"


def test_the_rights_record_survives_its_stored_form() -> None:
    a = deal(deal(fresh(), "license", "t2", licence={"scope": "sole", "start_on": "2030-03-01", "end_on": None}), "transfer")
    assert rights_from_json(rights_to_json(a.rights)) == a.rights


def test_own_3_extension_before_the_end_is_accepted_and_a_new_end_not_later_refused() -> None:
    a = usage_right()
    extended = a.extend_usage_right(empowerment_id="e1", new_end_on=date(2045, 3, 1), decision=DECISION, today=TODAY)
    assert extended.achievement.holding("e1").end_on == date(2045, 3, 1)
    same = lambda: a.extend_usage_right(empowerment_id="e1", new_end_on=date(2040, 3, 1), decision=DECISION, today=TODAY)
    assert rule_of(same) == "OWN-3"
    no_decision = lambda: a.extend_usage_right(empowerment_id="e1", new_end_on=date(2045, 3, 1), decision=None, today=TODAY)
    assert rule_of(no_decision) == "OWN-5"


def test_own_3_no_extension_after_conversion_or_transfer() -> None:
    a = usage_right()
    converted = a.convert_usage_right(
        empowerment_id="e1", team_share=Decimal("60.00"), unit_share=Decimal("40.00"), unit_consent=True,
        team_consent=True, overseas=False, today=TODAY,
    ).achievement
    with pytest.raises(InvalidState) as refused:
        converted.extend_usage_right(empowerment_id="e1", new_end_on=date(2045, 3, 1), decision=DECISION, today=TODAY)
    assert refused.value.rule == "OWN-3"
    transferred = deal(a, "transfer")
    with pytest.raises(InvalidState) as refused:
        transferred.extend_usage_right(empowerment_id="e1", new_end_on=date(2045, 3, 1), decision=DECISION, today=TODAY)
    assert refused.value.rule == "OWN-3"


def test_own_17_correction_needs_a_reason_and_reports_what_changed() -> None:
    a = fresh()
    assert rule_of(lambda: a.correct(changes={"department": "材料学院"}, reason=" ")) == "OWN-17"
    decided = a.correct(changes={"department": "材料学院", "field": "新材料"}, reason="院系调整")
    assert decided.achievement.department == "材料学院" and decided.achievement.version == 2
    [event] = decided.events
    assert event.type == "ownership.achievement.corrected" and event.payload.changed == ["department"]
    assert a.correct(changes={"field": "新材料"}, reason="无变化").events == []


def test_own_17_gates_read_the_facts_as_corrected() -> None:
    a = fresh().correct(
        changes={"security": {"national_interest": True, "classified": False, "key_core_technology": False}},
        reason="经保密审查认定涉及国家安全",
    ).achievement
    assert rule_of(lambda: a.separately_manage(decision=DECISION, now=NOW)) == "OWN-12"
    assert not a.in_pool(TODAY)
