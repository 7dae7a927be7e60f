"""EVA-2 across the services: the indicators equal a recount from the services' own tables, before and after a rebuild.

Real actions through the four services (in-process, real NATS and databases) over two years with the test
clock; the evaluation service sees only their events. The recount reads ownership's, pricing's and
finance's own tables for the same unit.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from contracts.common import format_two_places
from finance.models import Income
from ownership.models import Achievement, Empowerment
from pricing.models import Notice, Transaction
from servicekit.clock import SHANGHAI
from servicekit.testing import InProcessSystem, eventually

CST = timezone(timedelta(hours=8))
BUYER = {"name": "大连融科储能技术发展有限公司", "credit_code": "91210200MA0Y1234X1", "kind": "enterprise",
         "ownership": "other", "overseas": False}
APPRAISAL = {"performed": True, "value": "1200000.00", "report_reference": "辽华评报字〔2031〕第018号"}


async def _post(system: InProcessSystem, service: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = await system.clients[service].post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _get(system: InProcessSystem, service: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = await system.clients[service].get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _agreement_deal(system: InProcessSystem, clock: Any, unit_id: str, achievement_id: str, price: str,
                          start: datetime, objected: bool) -> None:
    """Open an agreement transaction, run its notice (with an objection, a listing), conclude it."""
    admin = system.auth("unit_admin", unit_id)
    await clock(start)
    tx = await _post(system, "pricing", "/api/v1/transactions", {
        "achievement_id": achievement_id, "kind": "transfer", "method": "agreement", "counterparty": BUYER,
        "proposed_price": price, "appraisal": APPRAISAL}, admin)
    notice = await _post(system, "pricing", f"/api/v1/transactions/{tx['id']}/notice", {}, admin)
    if objected:
        await _post(system, "pricing", f"/api/v1/notices/{notice['id']}/objections",
                    {"reason": "价格偏低"}, system.auth("enterprise"))
    ends = datetime.fromisoformat(notice["ends_at"])
    await clock(ends + timedelta(minutes=1))
    if objected:
        listing = await _post(system, "pricing", f"/api/v1/transactions/{tx['id']}/listing", {"exchange": "辽宁技术交易市场"}, admin)
        await clock(datetime.fromisoformat(listing["closes_at"]) + timedelta(minutes=1))

    async def ready() -> bool:
        state = (await _get(system, "pricing", f"/api/v1/transactions/{tx['id']}", admin))["state"]
        return state in ("notice_clear", "listing_expired")

    await eventually(ready, timeout=10)
    await _post(system, "pricing", f"/api/v1/transactions/{tx['id']}/conclusion",
                {"contract_reference": f"HT-{uuid.uuid4().hex[:6]}", "signed_on": (ends.date()).isoformat()}, admin)


async def _recount(system: InProcessSystem, unit_id: str, year: int) -> dict[str, Any]:
    """The same indicators counted from the services' own tables (EVA-2)."""
    def in_year(column: Any) -> Any:
        start = datetime(year, 1, 1, tzinfo=SHANGHAI)
        return (column >= start) & (column < datetime(year + 1, 1, 1, tzinfo=SHANGHAI))

    async with system.runtime("ownership").sessions() as session:
        achievements = (await session.execute(select(func.count()).select_from(Achievement).where(
            Achievement.unit_id == unit_id, in_year(Achievement.created_at)))).scalar_one()
        empowerments = (await session.execute(select(func.count()).select_from(Empowerment).where(
            Empowerment.unit_id == unit_id, in_year(Empowerment.created_at)))).scalar_one()
    async with system.runtime("pricing").sessions() as session:
        opened = (await session.execute(select(func.count()).select_from(Transaction).where(
            Transaction.unit_id == unit_id, in_year(Transaction.created_at)))).scalar_one()
        deals = [tx.deal for tx in (await session.execute(select(Transaction).where(
            Transaction.unit_id == unit_id, Transaction.deal.is_not(None)))).scalars()
            if datetime.fromisoformat(tx.deal["concluded_at"]).astimezone(SHANGHAI).year == year]
        notices = list((await session.execute(select(Notice).where(
            Notice.unit_id == unit_id, in_year(Notice.starts_at)))).scalars())
    async with system.runtime("finance").sessions() as session:
        income = (await session.execute(select(func.coalesce(func.sum(Income.amount), 0)).where(
            Income.unit_id == unit_id, in_year(Income.recorded_at)))).scalar_one()
    return {
        "achievements_registered": achievements,
        "empowerments": empowerments,
        "transactions_opened": opened,
        "deals.transfer": len(deals),
        "deals_by_basis.notice_clear": sum(1 for d in deals if d["basis"] == "notice_clear"),
        "deals_by_basis.listing_expired": sum(1 for d in deals if d["basis"] == "listing_expired"),
        "deal_amount": format_two_places(sum((Decimal(d["price"]) for d in deals), Decimal(0))),
        "notices_published": len(notices),
        "notices_objected": sum(1 for n in notices if n.objection_count > 0),
        "income_received": format_two_places(Decimal(income)),
    }


def _counted(body: dict[str, Any]) -> dict[str, Any]:
    quantity, quality, benefit = body["quantity"], body["quality"], body["benefit"]
    return {
        "achievements_registered": quantity["achievements_registered"],
        "empowerments": sum(quantity["empowerments"].values()),
        "transactions_opened": quantity["transactions_opened"],
        "deals.transfer": quantity["deals"]["transfer"],
        "deals_by_basis.notice_clear": quantity["deals_by_basis"]["notice_clear"],
        "deals_by_basis.listing_expired": quantity["deals_by_basis"]["listing_expired"],
        "deal_amount": benefit["deal_amount"],
        "notices_published": quality["notices_published"],
        "notices_objected": quality["notices_objected"],
        "income_received": benefit["income_received"],
    }


async def test_indicators_equal_a_recount_from_the_services_tables_before_and_after_a_rebuild(
    system: InProcessSystem, clock: Any
) -> None:
    """EVA-2: live = recount = rebuilt, for a unit acting over two years."""
    await clock(datetime(2031, 3, 1, 9, tzinfo=CST))
    unit = await system.register_unit()
    admin = system.auth("unit_admin", unit["id"])
    ids = []
    for n, granted_on in enumerate(("2026-05-01", "2027-09-01", "2030-01-01")):
        achievement = await _post(system, "ownership", "/api/v1/achievements", {
            "unit_id": unit["id"], "title": f"海水淡化复合膜-{n}", "kind": "patent",
            "ip_rights": [{"type": "invention_patent", "number": f"ZL2031{n}", "granted_on": granted_on}],
            "completers": [{"person_id": f"p-{n}", "name": "王工"}],
            "security": {"national_interest": False, "classified": False, "key_core_technology": False},
            "ethics_review_required": False}, admin)
        ids.append(achievement["id"])
    await _post(system, "ownership", f"/api/v1/achievements/{ids[0]}/empowerments", {
        "type": "ownership", "team_share": "70.00", "unit_share": "30.00",
        "decision": {"body": "校长办公会", "date": "2031-03-01", "reference": "大工办〔2031〕1号"}}, admin)
    await _agreement_deal(system, clock, unit["id"], ids[0], "500000.00", datetime(2031, 4, 1, 9, tzinfo=CST), objected=False)
    await _agreement_deal(system, clock, unit["id"], ids[1], "320000.00", datetime(2032, 2, 1, 9, tzinfo=CST), objected=True)
    evaluation = system.clients["evaluation"]
    reader = system.auth("department")

    async def live(year: int) -> dict[str, Any] | None:
        recount = await _recount(system, unit["id"], year)
        response = await evaluation.get(f"/api/v1/evaluation/units/{unit['id']}", params={"year": year}, headers=reader)
        if response.status_code != 200:
            return None
        return response.json() if _counted(response.json()) == recount else None

    before = {year: await eventually(lambda year=year: live(year), timeout=20) for year in (2031, 2032)}
    assert before[2031]["quantity"]["deals"]["transfer"] == 1 and before[2032]["quality"]["notices_objected"] == 1
    started = await evaluation.post("/api/v1/evaluation/rebuild", headers=system.auth("platform_admin"))
    assert started.status_code == 202, started.text

    async def done() -> bool:
        response = await evaluation.get(f"/api/v1/evaluation/rebuilds/{started.json()['id']}", headers=system.auth("platform_admin"))
        return response.json()["state"] == "done"

    await eventually(done, timeout=120)
    for year in (2031, 2032):
        after = await evaluation.get(f"/api/v1/evaluation/units/{unit['id']}", params={"year": year}, headers=reader)
        assert after.json() == before[year]
        assert _counted(after.json()) == await _recount(system, unit["id"], year)
