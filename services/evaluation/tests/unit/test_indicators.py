"""EVA-1 at its edges, without I/O: the year of an event, the pool's state day, medians, latest conclusions."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from evaluation.domain.facts import AchievementFacts, Fact, corrected, fact_of, knowledge_of
from evaluation.domain.indicators import Scope, indicators, pool_counts


def _fact(event_type: str, at: datetime, **values) -> Fact:
    return Fact(event_id=f"{event_type}-{at.isoformat()}-{values.get('ref_id', '')}", type=event_type, unit_id="U", at=at, **values)


def _achievement(granted_on: date | None, **values) -> AchievementFacts:
    return AchievementFacts(achievement_id=values.pop("achievement_id", "A"), unit_id="U", first_granted_on=granted_on, **values)


def test_an_event_counts_in_the_shanghai_year_of_its_time() -> None:
    """EVA-1: 31 Dec 16:30 UTC is already 1 Jan in Asia/Shanghai."""
    late = _fact("ownership.achievement.registered", datetime(2025, 12, 31, 16, 30, tzinfo=UTC))
    early = _fact("ownership.achievement.registered", datetime(2025, 12, 31, 15, 59, tzinfo=UTC))
    scope = Scope(facts=(late, early), achievements={})
    assert indicators(scope, 2025, date(2027, 1, 1))["quantity"]["achievements_registered"] == 1
    assert indicators(scope, 2026, date(2027, 1, 1))["quantity"]["achievements_registered"] == 1


def test_pool_size_is_taken_on_the_years_last_day_and_a_deal_takes_a_member_out() -> None:
    """OWN-10 as counted by EVA-1: granted 2022-12-31 is a member on 2025-12-31, not on 2025-12-30."""
    achievement = _achievement(date(2022, 12, 31))
    scope = Scope(facts=(), achievements={"A": achievement})
    assert pool_counts(scope, 2025, date(2026, 6, 1)) == (1, 0)
    assert pool_counts(scope, 2025, date(2025, 12, 30)) == (0, 0)  # the running year: today is the state day
    deal = _fact("pricing.deal.concluded", datetime(2026, 3, 1, 2, tzinfo=UTC), achievement_id="A", kind="license",
                 amount=Decimal("10.00"))
    scope = Scope(facts=(deal,), achievements={"A": achievement})
    assert pool_counts(scope, 2026, date(2027, 1, 1)) == (0, 1)
    assert pool_counts(scope, 2025, date(2027, 1, 1)) == (1, 0)


def test_a_young_or_excluded_or_national_interest_achievement_transformed_is_no_pool_transformation() -> None:
    """OWN-10/OWN-12: only a pool member's transformation counts as `pool_transformed`."""
    deal_at = datetime(2026, 3, 1, 2, tzinfo=UTC)
    young = _achievement(date(2024, 1, 1), achievement_id="Y")
    secret = _achievement(date(2020, 1, 1), achievement_id="S", national_interest=True)
    excluded = _achievement(date(2020, 1, 1), achievement_id="X")
    facts = tuple(
        _fact("pricing.deal.concluded", deal_at, achievement_id=a, kind="transfer", ref_id=a) for a in ("Y", "S", "X")
    ) + (_fact("ownership.pool.exclusion_changed", datetime(2025, 1, 1, tzinfo=UTC), achievement_id="X", kind="excluded"),)
    scope = Scope(facts=facts, achievements={"Y": young, "S": secret, "X": excluded})
    assert pool_counts(scope, 2026, date(2027, 1, 1)) == (0, 0)


def test_median_days_from_grant_to_deal_is_a_number_and_null_without_deals() -> None:
    """EVA-1 quality: the median of 10 and 21 days is 15.5; no deal → null."""
    a = _achievement(date(2026, 1, 1), achievement_id="A")
    b = _achievement(date(2026, 1, 1), achievement_id="B")
    facts = (
        _fact("pricing.deal.concluded", datetime(2026, 1, 11, 2, tzinfo=UTC), achievement_id="A", kind="transfer", ref_id="1"),
        _fact("pricing.deal.concluded", datetime(2026, 1, 22, 2, tzinfo=UTC), achievement_id="B", kind="transfer", ref_id="2"),
    )
    groups = indicators(Scope(facts=facts, achievements={"A": a, "B": b}), 2026, date(2027, 1, 1))
    assert groups["quality"]["median_days_grant_to_deal"] == 15.5
    assert indicators(Scope(facts=(), achievements={}), 2026, date(2027, 1, 1))["quality"]["median_days_grant_to_deal"] is None


def test_a_case_counts_once_by_its_latest_conclusion_of_the_year() -> None:
    """EVA-1/EVA-2: a re-determination replaces the first conclusion; counts only, by conclusion."""
    facts = (
        _fact("exemption.conclusion.issued", datetime(2026, 2, 1, tzinfo=UTC), kind="does_not_meet", ref_id="C"),
        _fact("exemption.conclusion.issued", datetime(2026, 3, 1, tzinfo=UTC), kind="basically_meets", ref_id="C"),
        _fact("exemption.determination.issued", datetime(2026, 4, 1, tzinfo=UTC), kind="meets", ref_id="D"),
    )
    counts = indicators(Scope(facts=facts, achievements={}), 2026, date(2027, 1, 1))["quality"]["exemption_conclusions"]
    assert counts == {"meets": 1, "basically_meets": 1, "does_not_meet": 0}


def test_receivables_outstanding_until_paid_and_an_investment_forms_state_equity() -> None:
    """FIN-10 / FIN-1 as counted: a receivable is outstanding at the year's end until paid; equity, not income."""
    opened = _fact("finance.receivable.opened", datetime(2025, 6, 1, tzinfo=UTC), ref_id="R", kind="pay_later",
                   amount=Decimal("300.00"))
    paid = _fact("finance.receivable.paid", datetime(2026, 2, 1, tzinfo=UTC), ref_id="R")
    investment = _fact("pricing.deal.concluded", datetime(2025, 7, 1, tzinfo=UTC), kind="investment",
                       amount=Decimal("800.00"), ref_id="T")
    scope = Scope(facts=(opened, paid, investment), achievements={})
    assert indicators(scope, 2025, date(2027, 1, 1))["benefit"]["receivables_outstanding"] == "300.00"
    assert indicators(scope, 2026, date(2027, 1, 1))["benefit"]["receivables_outstanding"] == "0.00"
    benefit_2025 = indicators(scope, 2025, date(2027, 1, 1))["benefit"]
    assert benefit_2025["state_equity_formed"] == "800.00"
    assert benefit_2025["income_received"] == "0.00"


def test_a_correction_of_department_and_grant_changes_what_counts() -> None:
    """OWN-17 reaches evaluation: the corrected facts stand, in the order they were made."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    knowledge = knowledge_of("ownership.achievement.registered", {
        "achievement_id": "A", "unit_id": "U", "title": "t", "kind": "patent", "department": "机械学院",
        "ip_rights": [{"type": "invention_patent", "number": "1", "granted_on": "2021-05-01"}],
        "completers": [{"person_id": "p1", "name": "张"}],
    }, at)
    assert knowledge is not None and knowledge.achievement is not None
    first = knowledge_of("ownership.achievement.corrected", {
        "achievement_id": "A", "unit_id": "U", "reason": "r", "changed": ["department"], "department": "化工学院"}, at)
    second = knowledge_of("ownership.achievement.corrected", {
        "achievement_id": "A", "unit_id": "U", "reason": "r", "changed": ["ip_rights"],
        "ip_rights": [{"type": "invention_patent", "number": "1", "granted_on": "2020-05-01"}]}, at)
    assert first is not None and second is not None and first.correction and second.correction
    result = corrected(knowledge.achievement, [first.correction, second.correction])
    assert (result.department, result.first_granted_on, result.completer_ids) == ("化工学院", date(2020, 5, 1), ("p1",))


def test_exemption_facts_never_carry_a_subject() -> None:
    """EVA-2 / G art. 8: a conclusion becomes a count by conclusion, nothing that names a person."""
    fact = fact_of("exemption.conclusion.issued", "e1", datetime(2026, 1, 1, tzinfo=UTC),
                   {"case_id": "C", "unit_id": "U", "conclusion": "meets", "subject": {"name": "李四"}})
    assert fact is not None
    assert (fact.kind, fact.person_ids, fact.details) == ("meets", (), {})
