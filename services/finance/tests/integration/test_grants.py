"""FIN-2 and FIN-6/7 through HTTP, each rule at its allowed and refused edge."""
from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import select

from finance import repository
from servicekit.testing import InProcessSystem, eventually, publish_event

from .helpers import problem

ENTERPRISE = {"name": "大连某科技有限公司", "credit_code": "91210200MA0"}


def _investment(unit_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "achievement_id": "ach-hx-1",
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


async def test_horizontal_investment_at_ninety_percent_is_announced_with_its_achievement_and_the_units_part(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    response = await _post(system, "/horizontal-investments", _investment(unit_id), system.auth("unit_admin", unit_id))
    assert response.status_code == 201, response.text
    body = response.json()
    # FIN-2: the stake is 1,000,000.00; the unit's agreed part (100% − 90%) is the state equity.
    assert (body["stake_value"], body["unit_share_pct"], body["state_equity_value"]) == ("1000000.00", "10.00", "100000.00")
    assert (body["researcher_share_pct"], body["achievement_id"], body["separately_managed"]) == ("90.00", "ach-hx-1", True)
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
        "state_equity_value": "100000.00",
        "project_reference": "HX-2030-001",
        "achievement_id": "ach-hx-1",
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
    person = {"person_id": "p1", "name": "王教授", "role": "researcher", "contribution_note": "成果转化的重要贡献", **recipient}
    return {"unit_id": unit_id, "recipients": [{k: v for k, v in person.items() if v is not None}]}


async def test_cash_reward_carries_the_three_performance_pay_flags(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    people = [{"person_id": p, "name": n} for p, n in (("p1", "张校长"), ("p2", "李副校长"), ("p3", "王研究员"))]
    body = {
        "unit_id": unit_id,
        "achievement_id": await _known_achievement(system, nats_url, unit_id, people),
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


async def test_horizontal_investment_names_its_achievement(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    without = _investment(unit_id)
    del without["achievement_id"]
    assert (await _post(system, "/horizontal-investments", without, admin)).status_code == 422
    other_units = await _known_achievement(system, nats_url, f"unit-{uuid.uuid4().hex}", [])
    problem(await _post(system, "/horizontal-investments", _investment(unit_id, achievement_id=other_units), admin), 404)


async def _known_achievement(system: InProcessSystem, nats_url: str, unit_id: str, completers: list[dict[str, str]]) -> str:
    """An achievement announced by ownership, once finance has its copy."""
    achievement_id = uuid.uuid4().hex
    await publish_event(
        nats_url, "ownership.achievement.registered", achievement_id,
        {"achievement_id": achievement_id, "unit_id": unit_id, "title": "催化剂", "kind": "patent", "completers": completers},
    )
    runtime = system.runtime("finance")

    async def known() -> bool:
        async with runtime.sessions() as session:
            return await repository.get_known_achievement(session, achievement_id) is not None

    await eventually(known, timeout=10)
    return achievement_id


COMPLETERS = [{"person_id": "p1", "name": "王教授"}, {"person_id": "p2", "name": "李研究员"}]


async def test_reward_to_a_completer_is_granted_and_to_anyone_else_only_with_a_contribution_note(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    achievement_id = await _known_achievement(system, nats_url, unit_id, COMPLETERS)

    def reward(**recipient: Any) -> dict[str, Any]:
        person = {"person_id": "p1", "name": "王教授", "role": "researcher", "form": "cash", "amount": "1000.00", **recipient}
        return {"unit_id": unit_id, "achievement_id": achievement_id, "recipients": [person]}

    granted = await _post(system, "/rewards", reward(), admin)
    assert granted.status_code == 201, granted.text
    assert granted.json()["achievement_id"] == achievement_id and granted.json()["recipients"][0]["basis"] == "completer"
    problem(await _post(system, "/rewards", reward(person_id="p9", name="赵经理"), admin), 422, "FIN-6")
    problem(await _post(system, "/rewards", reward(person_id="p9", contribution_note="  "), admin), 422, "FIN-6")
    contributor = await _post(system, "/rewards", reward(person_id="p9", contribution_note="负责中试放大与市场推广"), admin)
    assert contributor.status_code == 201, contributor.text
    assert contributor.json()["recipients"][0]["basis"] == "contribution"
    problem(await _post(system, "/rewards", reward(), system.auth("unit_admin", "other")), 404)


async def test_a_correction_of_the_completers_decides_later_rewards(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    achievement_id = await _known_achievement(system, nats_url, unit_id, COMPLETERS)
    await publish_event(
        nats_url, "ownership.achievement.corrected", achievement_id,
        {"achievement_id": achievement_id, "unit_id": unit_id, "reason": "漏报完成人", "changed": ["completers"],
         "completers": [*COMPLETERS, {"person_id": "p3", "name": "孙工"}], "version": 2},
    )
    body = {"unit_id": unit_id, "achievement_id": achievement_id,
            "recipients": [{"person_id": "p3", "name": "孙工", "role": "researcher", "form": "shares", "share_pct": "5.00"}]}

    async def granted() -> Any:
        response = await _post(system, "/rewards", body, admin)
        return response if response.status_code == 201 else None

    assert (await eventually(granted, timeout=10)).json()["recipients"][0]["basis"] == "completer"


async def test_reward_without_an_achievement_needs_a_contribution_note_for_everyone(system: InProcessSystem) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    problem(await _post(system, "/rewards", _reward(unit_id, form="cash", amount="1.00", contribution_note=None), admin), 422, "FIN-6")
    unknown = {**_reward(unit_id, form="cash", amount="1.00", contribution_note=None), "achievement_id": "unknown-here"}
    problem(await _post(system, "/rewards", unknown, admin), 422, "FIN-6")
    assert (await _post(system, "/rewards", _reward(unit_id, form="cash", amount="1.00"), admin)).status_code == 201
