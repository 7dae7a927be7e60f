"""Journeys across all four services as users meet them: through the gateway, every service a process.

Each journey starts the shared test clock at its own later instant, so the clock only ever moves forward.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem
from tests.e2e.contracts_check import assert_every_seen_event_is_catalogued
from tests.e2e.journeys import COUNTERPARTY, PRICE, Journey, balance_identity, ok

pytestmark = pytest.mark.e2e


async def test_agreement_deal_after_a_clear_notice_flows_into_income_reward_and_a_joint_determination(
    running: RunningSystem,
) -> None:
    journey = await Journey.begin(running, datetime(2031, 3, 1, 1, 0, tzinfo=UTC))
    achievement = await journey.pooled_achievement()
    assert achievement["id"] in await journey.pool_ids()
    empowerment = await journey.usage_right(achievement["id"])
    assert (empowerment["type"], empowerment["state"]) == ("usage_right", "active")

    deal = await journey.agreement(achievement["id"])
    notice = await journey.notice(deal["id"])
    assert notice["price"] == PRICE
    await journey.advance(timedelta(days=journey.unit["policy"]["notice_days"] + 1))
    await journey.in_state(deal["id"], "notice_clear")
    concluded = await journey.conclude(deal["id"])
    assert concluded["state"] == "concluded"
    assert (concluded["deal"]["basis"], concluded["deal"]["price"]) == ("notice_clear", PRICE)

    transformed = await journey.transformed(achievement["id"])
    assert transformed["transformed"] is True
    income = await journey.income(deal["id"])
    assert (income["amount"], income["source"], income["retained_by_unit"]) == (PRICE, "deal", True)
    assert income["achievement_id"] == achievement["id"]

    reward = await journey.cash_reward(income["id"])
    cash = reward["recipients"][0]
    flags = (cash["counts_in_performance_pay_total"], cash["in_next_year_base"], cash["in_social_insurance_base"])
    assert flags == (True, False, False)

    case = await journey.open_case(deal["id"])
    assessment = await case.g5_3_supported()
    assert assessment["prerequisites"]["evidence"] is True
    await case.prepare()
    decided = await case.decide()
    assert decided["state"] == "awaiting_confirmation"
    review = await case.post("/review-requests", {"grounds": "损失系市场变化所致，非本人决策"}, case.subject, 201)
    assert review["state"] == "under_review"
    rejected = await case.post("/review-outcome", {"accepted": False, "explanation": "原结论证据充分，维持"}, case.admin)
    assert rejected["state"] == "review_rejected"
    escalation = {"application_reference": "辽科申〔2031〕7号", "subject_objection": "对复核结论仍有异议"}
    assert (await case.post("/escalation", escalation, case.admin))["state"] == "escalated"
    office = running.auth("provincial_office")
    determination = {"departments": ["science", "finance"], "conclusion": "meets", "reasoning": "联合认定：符合尽职免责情形"}
    determined = await case.post("/department-determination", determination, office)
    assert determined["state"] == "determined"
    assert ok(await running.http.get(case.url, headers=running.auth("department")), 200)["state"] == "determined"


async def test_objected_notice_goes_to_listing_and_after_expiry_concludes_at_the_agreement_price(
    running: RunningSystem,
) -> None:
    journey = await Journey.begin(running, datetime(2032, 3, 1, 1, 0, tzinfo=UTC))
    achievement = await journey.pooled_achievement()
    deal = await journey.agreement(achievement["id"])
    notice = await journey.notice(deal["id"])
    objection = {"reason": "转让价格明显偏低", "contact": {"name": "钱七", "phone": "13800000000"}}
    ok(await running.http.post(f"/api/v1/notices/{notice['id']}/objections", json=objection, headers=running.auth("enterprise")), 201)
    await journey.advance(timedelta(days=journey.unit["policy"]["notice_days"] + 1))
    await journey.in_state(deal["id"], "notice_objected")

    listing = ok(
        await running.http.post(f"/api/v1/transactions/{deal['id']}/listing", json={"exchange": "辽宁技术交易市场"}, headers=journey.admin),
        201,
    )
    assert listing["price"] == PRICE
    active = ok(await running.http.get("/api/v1/listings", params={"active": "true"}), 200)
    assert listing["id"] in {item["id"] for item in active["items"]}
    await journey.advance(timedelta(days=16))
    await journey.in_state(deal["id"], "listing_expired")

    concluded = await journey.conclude(deal["id"])
    assert concluded["deal"]["basis"] == "listing_expired"
    assert concluded["deal"]["price"] == PRICE
    assert concluded["deal"]["counterparty"]["credit_code"] == COUNTERPARTY["credit_code"]
    record = ok(await running.http.get(f"/api/v1/transactions/{deal['id']}/record", headers=journey.admin), 200)
    steps = [item["step"] for item in record["items"]]
    assert steps[-3:] == ["listing_published", "listing_expired", "concluded"] and "objection_received" in steps

    income = await journey.income(deal["id"])
    assert income["amount"] == PRICE
    await journey.transformed(achievement["id"])
    case = await journey.open_case(deal["id"])
    await case.g5_3_supported()


async def test_horizontal_investment_enters_the_separate_ledger_and_a_fund_balances_after_invest_first_exit(
    running: RunningSystem,
) -> None:
    journey = await Journey.begin(running, datetime(2033, 3, 1, 1, 0, tzinfo=UTC))
    achievement = await journey.pooled_achievement()
    investment_body = {
        "unit_id": journey.unit_id,
        "achievement_id": achievement["id"],
        "project_reference": "HX-2033-001",
        "surplus_amount": "200000.00",
        "cash_amount": "200000.00",
        "technology_valuation": "800000.00",
        "enterprise": {"name": "大连某科技有限公司", "credit_code": "91210200MA0000003Z"},
        "researcher_share_pct": "90.00",
        "unit_consent": {"by": "校长办公会", "on": "2033-02-20"},
    }
    investment = ok(await running.http.post("/api/v1/horizontal-investments", json=investment_body, headers=journey.admin), 201)

    async def state_equity_in_ledger() -> list[dict] | None:
        ledger = ok(await running.http.get(f"/api/v1/units/{journey.unit_id}/separate-ledger", headers=journey.admin), 200)
        equity = [item for item in ledger["items"] if item["kind"] == "state_equity"]
        return equity or None

    equity = await eventually(state_equity_in_ledger, timeout=10)
    assert [(e["source"], e["investment_id"], e["value"]) for e in equity] == [
        ("horizontal_investment", investment["id"], investment["state_equity_value"])
    ]
    assert investment["state_equity_value"] == "100000.00"  # FIN-2: the unit's 10 % of the 1,000,000.00 stake

    admin, company, department = running.auth("platform_admin"), running.auth("platform_company"), running.auth("department")
    fund = ok(await running.http.post("/api/v1/funds", json={"name": "省科技成果转化引导基金", "contribution": "1000000.00"}, headers=admin), 201)
    fund_url = f"/api/v1/funds/{fund['id']}"
    ok(await running.http.post(f"{fund_url}/contributions", json={"amount": "500000.00", "source": "省财政"}, headers=admin), 201)
    project = ok(
        await running.http.post(
            "/api/v1/invest-first-projects",
            json={"fund_id": fund["id"], "enterprise": {"name": "辽宁某初创公司", "credit_code": "91210000MA0000004W"}},
            headers=company,
        ),
        201,
    )
    project_url = f"/api/v1/invest-first-projects/{project['id']}"
    for stage, amount in (("concept_verification", "200000.00"), ("pilot", "300000.00")):
        ok(await running.http.post(f"{project_url}/tranches", json={"stage": stage, "amount": amount}, headers=company), 201)
    conversion = {"trigger": "market_financing", "round_reference": "A轮-2033", "post_money_valuation": "4000000.00"}
    converted = ok(await running.http.post(f"{project_url}/conversion", json=conversion, headers=company), 200)
    assert (converted["state"], converted["equity_pct"]) == ("converted", "12.50")
    exited = ok(await running.http.post(f"{project_url}/exits", json={"equity_pct": "12.50", "proceeds": "900000.00"}, headers=company), 201)
    assert (exited["state"], exited["equity_pct"]) == ("exited", "0.00")

    balanced = ok(await running.http.get(fund_url, headers=department), 200)
    totals = (balanced["contributed"], balanced["disbursed"], balanced["exit_proceeds"], balanced["balance"])
    assert totals == ("1500000.00", "500000.00", "900000.00", "1900000.00")
    assert balance_identity(balanced)


async def test_every_event_type_the_journeys_put_on_the_stream_is_in_the_asyncapi_catalogue(running: RunningSystem) -> None:
    await assert_every_seen_event_is_catalogued(running, {
        "ownership.unit.registered", "ownership.achievement.registered", "ownership.empowerment.granted",
        "pricing.transaction.opened", "pricing.notice.published", "pricing.notice.objected", "pricing.notice.closed",
        "pricing.listing.published", "pricing.listing.expired", "pricing.deal.concluded",
        "finance.income.recorded", "finance.reward.granted", "finance.horizontal_investment.recorded",
        "finance.tranche.disbursed", "finance.equity.converted", "finance.exit.recorded",
        "exemption.case.opened", "exemption.conclusion.issued", "exemption.review.requested",
        "exemption.review.decided", "exemption.case.escalated", "exemption.determination.issued",
    })
