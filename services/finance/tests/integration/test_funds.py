"""FIN-3/4/5 through HTTP: tranches within the balance, conversion half-up, exits back into the fund."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from finance.models import Fund, FundLedgerEntry
from servicekit.testing import InProcessSystem

from .helpers import problem

PROJECTS = "/api/v1/invest-first-projects"


async def _fund(system: InProcessSystem, contribution: str) -> dict[str, Any]:
    response = await system.clients["finance"].post(
        "/api/v1/funds", json={"name": f"省科技成果转化基金-{uuid.uuid4().hex[:6]}", "contribution": contribution}, headers=system.auth("platform_admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _project(system: InProcessSystem, fund_id: str) -> dict[str, Any]:
    response = await system.clients["finance"].post(
        PROJECTS, json={"fund_id": fund_id, "enterprise": {"name": "辽宁某科技公司", "credit_code": "9121X"}}, headers=system.auth("platform_company")
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _tranche(system: InProcessSystem, project_id: str, amount: str, stage: str = "concept_verification") -> Any:
    return await system.clients["finance"].post(
        f"{PROJECTS}/{project_id}/tranches", json={"stage": stage, "amount": amount}, headers=system.auth("platform_company")
    )


async def _get_fund(system: InProcessSystem, fund_id: str) -> dict[str, Any]:
    response = await system.clients["finance"].get(f"/api/v1/funds/{fund_id}", headers=system.auth("department"))
    assert response.status_code == 200, response.text
    return response.json()


async def _ledger_matches(system: InProcessSystem, fund_id: str) -> None:
    """The stored totals equal those recomputed from the append-only ledger (FIN-5)."""
    async with system.runtime("finance").sessions() as session:
        fund = (await session.execute(select(Fund).where(Fund.id == fund_id))).scalar_one()
        entries = (await session.execute(select(FundLedgerEntry).where(FundLedgerEntry.fund_id == fund_id))).scalars().all()
    total = {kind: sum((e.amount for e in entries if e.kind == kind), Decimal("0.00")) for kind in ("contribution", "disbursement", "exit")}
    assert fund.contributed == total["contribution"] and fund.disbursed == total["disbursement"] and fund.exit_proceeds == total["exit"]
    assert fund.balance == total["contribution"] + total["exit"] - total["disbursement"]
    assert sorted(e.seq for e in entries) == list(range(1, len(entries) + 1))


async def test_tranche_equal_to_the_balance_is_paid_and_one_cent_more_is_refused_with_fin_3(system: InProcessSystem) -> None:
    fund = await _fund(system, "100.00")
    project = await _project(system, fund["id"])
    assert project["state"] == "investing" and project["disbursed"] == "0.00" and project["equity_pct"] is None
    problem(await _tranche(system, project["id"], "100.01"), 422, "FIN-3")
    response = await _tranche(system, project["id"], "100.00", "small_trial")
    assert response.status_code == 201, response.text
    assert response.json()["disbursed"] == "100.00"
    state = await _get_fund(system, fund["id"])
    assert (state["balance"], state["disbursed"]) == ("0.00", "100.00")
    problem(await _tranche(system, project["id"], "0.01", "pilot"), 422, "FIN-3")
    await _ledger_matches(system, fund["id"])


async def test_concurrent_tranches_never_overdraw_the_fund(system: InProcessSystem) -> None:
    fund = await _fund(system, "100.00")
    projects = [await _project(system, fund["id"]) for _ in range(5)]
    responses = await asyncio.gather(*(_tranche(system, p["id"], "30.00") for p in projects))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 201, 201, 422, 422], [r.text for r in responses]
    assert all(r.json()["rule"] == "FIN-3" for r in responses if r.status_code == 422)
    state = await _get_fund(system, fund["id"])
    assert (state["balance"], state["disbursed"]) == ("10.00", "90.00")
    await _ledger_matches(system, fund["id"])


async def test_conversion_before_any_tranche_is_refused_with_fin_4(system: InProcessSystem) -> None:
    fund = await _fund(system, "100.00")
    project = await _project(system, fund["id"])
    response = await system.clients["finance"].post(
        f"{PROJECTS}/{project['id']}/conversion",
        json={"trigger": "market_financing", "round_reference": "A轮", "post_money_valuation": "8.00"},
        headers=system.auth("platform_company"),
    )
    problem(response, 409, "FIN-4")


async def _convert(system: InProcessSystem, project_id: str, post_money: str) -> Any:
    return await system.clients["finance"].post(
        f"{PROJECTS}/{project_id}/conversion",
        json={"trigger": "stable_stage", "round_reference": "B轮-2030", "post_money_valuation": post_money},
        headers=system.auth("platform_company"),
    )


async def test_conversion_is_disbursed_over_post_money_rounded_half_up(system: InProcessSystem) -> None:
    fund = await _fund(system, "100.00")
    first, second = await _project(system, fund["id"]), await _project(system, fund["id"])
    await _tranche(system, first["id"], "1.00")
    await _tranche(system, second["id"], "1.00")
    converted = await _convert(system, first["id"], "8.00")
    assert converted.status_code == 200, converted.text
    assert (converted.json()["state"], converted.json()["equity_pct"]) == ("converted", "12.50")
    # 1.00 / 800.00 × 100 = 0.125: half-up 0.13, banker's rounding would say 0.12.
    assert (await _convert(system, second["id"], "800.00")).json()["equity_pct"] == "0.13"
    problem(await _convert(system, first["id"], "8.00"), 409, "FIN-4")
    problem(await _tranche(system, first["id"], "1.00"), 409, "FIN-3")


async def test_exits_reduce_equity_and_return_proceeds_to_the_fund(system: InProcessSystem) -> None:
    fund = await _fund(system, "1000.00")
    project = await _project(system, fund["id"])
    client = system.clients["finance"]
    company = system.auth("platform_company")
    exits = f"{PROJECTS}/{project['id']}/exits"
    problem(await client.post(exits, json={"equity_pct": "1.00", "proceeds": "1.00"}, headers=company), 409, "FIN-4")
    await _tranche(system, project["id"], "400.00", "pilot")
    await _tranche(system, project["id"], "100.00", "industrialization")
    assert (await _convert(system, project["id"], "2000.00")).json()["equity_pct"] == "25.00"
    problem(await client.post(exits, json={"equity_pct": "25.01", "proceeds": "1.00"}, headers=company), 422, "FIN-5")
    partial = await client.post(exits, json={"equity_pct": "10.00", "proceeds": "300.00"}, headers=company)
    assert partial.status_code == 201, partial.text
    assert (partial.json()["equity_pct"], partial.json()["state"]) == ("15.00", "converted")
    rest = await client.post(exits, json={"equity_pct": "15.00", "proceeds": "450.00"}, headers=company)
    assert (rest.json()["equity_pct"], rest.json()["state"], rest.json()["exit_proceeds"]) == ("0.00", "exited", "750.00")
    state = await _get_fund(system, fund["id"])
    totals = (state["contributed"], state["disbursed"], state["exit_proceeds"], state["balance"])
    assert totals == ("1000.00", "500.00", "750.00", "1250.00")
    problem(await client.post(exits, json={"equity_pct": "0.01", "proceeds": "1.00"}, headers=company), 409, "FIN-5")
    contribution = await client.post(
        f"/api/v1/funds/{fund['id']}/contributions", json={"amount": "0.50", "source": "省财政"}, headers=system.auth("platform_admin")
    )
    assert contribution.json()["balance"] == "1250.50"
    ledger = await client.get(f"/api/v1/funds/{fund['id']}/ledger", headers=system.auth("platform_company"))
    assert [e["kind"] for e in ledger.json()["items"]] == ["contribution", "disbursement", "disbursement", "exit", "exit", "contribution"]
    await _ledger_matches(system, fund["id"])


async def test_fund_and_project_access_and_money_as_strings(system: InProcessSystem) -> None:
    client = system.clients["finance"]
    assert (await client.post("/api/v1/funds", json={"name": "x", "contribution": 100}, headers=system.auth("platform_admin"))).status_code == 422
    assert (await client.post("/api/v1/funds", json={"name": "x", "contribution": "100.00"}, headers=system.auth("platform_company"))).status_code == 403
    assert (await client.post("/api/v1/funds", json={"name": "x", "contribution": "0.00"}, headers=system.auth("platform_admin"))).status_code == 422
    fund = await _fund(system, "10.00")
    assert fund["balance"] == "10.00" and fund["version"] == 1
    assert (await client.get(f"/api/v1/funds/{fund['id']}", headers=system.auth("enterprise"))).status_code == 403
    assert (await client.get("/api/v1/funds/nope", headers=system.auth("platform_admin"))).status_code == 404
    body = {"fund_id": fund["id"], "enterprise": {"name": "e", "credit_code": "c"}}
    assert (await client.post(PROJECTS, json=body, headers=system.auth("platform_admin"))).status_code == 403
    assert (await client.post(PROJECTS, json={**body, "fund_id": "nope"}, headers=system.auth("platform_company"))).status_code == 404
    project = await _project(system, fund["id"])
    assert (await _tranche(system, project["id"], "1.00", "mass_production")).status_code == 422
    stale = await client.post(
        f"{PROJECTS}/{project['id']}/tranches", json={"stage": "pilot", "amount": "1.00"}, headers={**system.auth("platform_company"), "If-Match": '"9"'}
    )
    assert stale.status_code == 412
