"""FIN-2, FIN-6/7, FIN-8, FIN-9 through HTTP, each rule at its allowed and refused edge."""
from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import select

from servicekit.testing import InProcessSystem, eventually, publish_event

from .helpers import problem

ENTERPRISE = {"name": "大连某科技有限公司", "credit_code": "91210200MA0"}


def _investment(unit_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "project_reference": "HX-2030-001",
        "surplus_amount": "200000.00",
        "cash_amount": "200000.00",
        "technology_valuation": "800000.00",
        "enterprise": ENTERPRISE,
        "researcher_share_pct": "90.00",
        "unit_consent": {"by": "校长办公会", "on": "2030-03-01"},
        **overrides,
    }


async def _post(system: InProcessSystem, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return await system.clients["finance"].post(f"/api/v1{path}", json=body, headers=headers)


async def test_horizontal_investment_at_ninety_percent_is_recorded_and_announced_for_the_separate_ledger(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    response = await _post(system, "/horizontal-investments", _investment(unit_id), system.auth("unit_admin", unit_id))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["researcher_share_pct"], body["state_equity_value"], body["separately_managed"]) == ("90.00", "1000000.00", True)
    runtime = system.runtime("finance")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        rows = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == "finance.horizontal_investment.recorded"))).scalars().all()
    events = [orjson.loads(row) for row in rows]
    event = next(e for e in events if e["subject"] == body["id"])
    assert event["data"] == {
        "investment_id": body["id"],
        "unit_id": unit_id,
        "enterprise": ENTERPRISE,
        "technology_valuation": "800000.00",
        "cash_amount": "200000.00",
        "researcher_share_pct": "90.00",
        "state_equity_value": "1000000.00",
        "project_reference": "HX-2030-001",
        "achievement_id": None,
    }


async def test_horizontal_investment_below_ninety_percent_needs_a_reason(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    problem(await _post(system, "/horizontal-investments", _investment(unit_id, researcher_share_pct="89.99"), admin), 422, "FIN-2")
    accepted = await _post(
        system, "/horizontal-investments", _investment(unit_id, researcher_share_pct="89.99", exception_reason="单位提供中试平台"), admin
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["exception_reason"] == "单位提供中试平台"


async def test_horizontal_investment_without_consent_or_with_cash_above_surplus_is_refused_with_fin_2(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    without_consent = _investment(unit_id)
    del without_consent["unit_consent"]
    problem(await _post(system, "/horizontal-investments", without_consent, admin), 422, "FIN-2")
    problem(await _post(system, "/horizontal-investments", _investment(unit_id, cash_amount="200000.01"), admin), 422, "FIN-2")
    accepted = await _post(system, "/horizontal-investments", _investment(unit_id, cash_amount="200000.00"), admin)
    assert accepted.status_code == 201
    assert (await _post(system, "/horizontal-investments", _investment(unit_id), system.auth("unit_admin", "other"))).status_code == 404
    assert (await _post(system, "/horizontal-investments", _investment(unit_id), system.auth("platform_admin"))).status_code == 403
    assert (await _post(system, "/horizontal-investments", _investment(unit_id, researcher_share_pct=90), admin)).status_code == 422


def _reward(unit_id: str, **recipient: Any) -> dict[str, Any]:
    return {"unit_id": unit_id, "recipients": [{"person_id": "p1", "name": "王教授", "role": "researcher", **recipient}]}


async def test_cash_reward_carries_the_three_performance_pay_flags(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    body = {
        "unit_id": unit_id,
        "recipients": [
            {"person_id": "p1", "name": "张校长", "role": "leader", "leader_rank": "principal", "form": "cash", "amount": "50000.00"},
            {"person_id": "p2", "name": "李副校长", "role": "leader", "leader_rank": "deputy", "form": "shares", "share_pct": "5.00"},
            {"person_id": "p3", "name": "王研究员", "role": "researcher", "form": "contribution", "share_pct": "20.00"},
        ],
    }
    response = await _post(system, "/rewards", body, system.auth("unit_admin", unit_id))
    assert response.status_code == 201, response.text
    cash, shares, contribution = response.json()["recipients"]
    assert (cash["counts_in_performance_pay_total"], cash["in_next_year_base"], cash["in_social_insurance_base"]) == (True, False, False)
    assert cash["amount"] == "50000.00" and shares["share_pct"] == "5.00" and contribution["form"] == "contribution"
    assert shares["counts_in_performance_pay_total"] is None
    read = await system.clients["finance"].get(f"/api/v1/rewards/{response.json()['id']}", headers=system.auth("department"))
    assert read.json() == response.json()


async def test_principal_leader_share_or_contribution_reward_is_refused_with_fin_6(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    for form in ("shares", "contribution"):
        refused = await _post(system, "/rewards", _reward(unit_id, role="leader", leader_rank="principal", form=form, share_pct="1.00"), admin)
        problem(refused, 422, "FIN-6")
    problem(await _post(system, "/rewards", _reward(unit_id, role="leader", form="cash", amount="1.00"), admin), 422, "FIN-6")
    problem(await _post(system, "/rewards", _reward(unit_id, form="cash"), admin), 422)
    problem(await _post(system, "/rewards", _reward(unit_id, form="shares", amount="1.00"), admin), 422)
    problem(await _post(system, "/rewards", _reward(unit_id, form="cash", amount=100), admin), 422)
    problem(await _post(system, "/rewards", _reward(unit_id, form="cash", amount="1.00"), system.auth("unit_admin", "x")), 404)
    problem(await _post(system, "/rewards", {**_reward(unit_id, form="cash", amount="1.00"), "income_id": "nope"}, admin), 404)


def _subsidy(kind: str, amount: str, basis: str = "2030年度评估优秀") -> dict[str, Any]:
    return {"kind": kind, "recipient": {"name": "大连理工大学科技园", "credit_code": "1221"}, "amount": amount, "basis_reference": basis}


async def test_park_and_incubator_awards_are_capped_at_500000(system: InProcessSystem) -> None:
    admin = system.auth("platform_admin")
    for kind in ("science_park", "incubator"):
        accepted = await _post(system, "/subsidies", _subsidy(kind, "500000.00"), admin)
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["amount"] == "500000.00"
        problem(await _post(system, "/subsidies", _subsidy(kind, "500000.01"), admin), 422, "FIN-8")
    assert (await _post(system, "/subsidies", _subsidy("incubator", "1.00"), system.auth("department"))).status_code == 403
    listed = await system.clients["finance"].get("/api/v1/subsidies", params={"kind": "incubator", "limit": 200}, headers=system.auth("department"))
    assert listed.status_code == 200 and any(s["amount"] == "500000.00" for s in listed.json()["items"])


async def test_challenge_award_only_for_a_landed_challenge(system: InProcessSystem, nats_url: str) -> None:
    admin = system.auth("platform_admin")
    challenge_id = uuid.uuid4().hex
    # Unknown here and unknown to pricing's lookup: not landed.
    problem(await _post(system, "/subsidies", _subsidy("challenge_award", "800000.00", challenge_id), admin), 422, "FIN-8")
    await publish_event(
        nats_url,
        "pricing.challenge.landed",
        challenge_id,
        {
            "challenge_id": challenge_id,
            "landed_on": "2030-06-01",
            "publisher": {"name": "鞍钢", "credit_code": "9121"},
            "awarded_response_id": "r1",
            "responder": {"name": "东北大学", "credit_code": "1221"},
        },
    )

    async def granted() -> Any:
        response = await _post(system, "/subsidies", _subsidy("challenge_award", "800000.00", challenge_id), admin)
        return response if response.status_code == 201 else None

    response = await eventually(granted, timeout=10)
    assert response.json()["basis_reference"] == challenge_id


async def _receivables(system: InProcessSystem, unit_id: str) -> list[dict[str, Any]]:
    response = await system.clients["finance"].get("/api/v1/receivables", params={"unit_id": unit_id}, headers=system.auth("unit_admin", unit_id))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_agreed_return_transfer_opens_a_contingent_receivable_that_falls_due_once(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    transfer_id = uuid.uuid4().hex
    base = {"achievement_id": "ach-9", "unit_id": unit_id, "enterprise": ENTERPRISE}
    await publish_event(nats_url, "ownership.equity_transfer.completed", "t0", {**base, "equity_transfer_id": uuid.uuid4().hex, "mode": "resource_fee", "fee": "1.00"})
    data = {**base, "equity_transfer_id": transfer_id, "mode": "agreed_return"}
    await publish_event(nats_url, "ownership.equity_transfer.completed", transfer_id, data)
    await publish_event(nats_url, "ownership.equity_transfer.completed", transfer_id, data)  # replay under a new id
    items = await eventually(lambda: _receivables(system, unit_id), timeout=10)
    assert [(i["equity_transfer_id"], i["state"]) for i in items] == [(transfer_id, "contingent")]
    admin = system.auth("unit_admin", unit_id)
    receivable = items[0]["id"]
    problem(await _post(system, f"/receivables/{receivable}/settlement", {}, admin), 409, "FIN-9")
    problem(await _post(system, f"/receivables/{receivable}/trigger", {"event": "listing", "amount": "1.00"}, system.auth("unit_admin", "x")), 404)
    due = await _post(system, f"/receivables/{receivable}/trigger", {"event": "listing", "amount": "250000.00"}, admin)
    assert due.status_code == 200, due.text
    assert (due.json()["state"], due.json()["amount"], due.json()["trigger_event"]) == ("due", "250000.00", "listing")
    problem(await _post(system, f"/receivables/{receivable}/trigger", {"event": "equity_transfer", "amount": "1.00"}, admin), 409, "FIN-9")
    settled = await _post(system, f"/receivables/{receivable}/settlement", {}, admin)
    assert settled.json()["state"] == "settled"
    assert len(await _receivables(system, unit_id)) == 1
