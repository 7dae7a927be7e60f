"""FIN-9 and FIN-10 through events and HTTP: agreed returns settle into income; pay-later fees are due until
paid (income licence_payment), overdue once their date has passed (read as of now, swept once even with two
replicas), or waived by the unit's decision."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select

from finance.app import create_app
from finance.models import Receivable
from finance.service import receivables
from servicekit.auth import Principal
from servicekit.testing import InProcessSystem, eventually, publish_event

from .helpers import finance_events, problem

CST = timezone(timedelta(hours=8))
T0 = datetime(2031, 6, 1, 10, 0, tzinfo=CST)
ENTERPRISE = {"name": "大连某科技有限公司", "credit_code": "91210200MA0"}
LICENSEE = {"name": "大连某小微企业", "credit_code": "91210200SME", "kind": "enterprise", "ownership": "other",
            "overseas": False, "size": "micro"}
DECISION = {"body": "校长办公会", "date": "2031-07-05", "reference": "校办〔2031〕12号"}


async def _post(system: InProcessSystem, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return await system.clients["finance"].post(f"/api/v1{path}", json=body, headers=headers)


async def _receivables(system: InProcessSystem, unit_id: str) -> list[dict[str, Any]]:
    response = await system.clients["finance"].get("/api/v1/receivables", params={"unit_id": unit_id}, headers=system.auth("unit_admin", unit_id))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _incomes(system: InProcessSystem, unit_id: str) -> list[dict[str, Any]]:
    response = await system.clients["finance"].get("/api/v1/incomes", params={"unit_id": unit_id}, headers=system.auth("unit_admin", unit_id))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _pay_later_deal(nats_url: str, unit_id: str, due_on: str, fee: str = "30000.00") -> str:
    transaction_id = uuid.uuid4().hex
    await publish_event(
        nats_url, "pricing.deal.concluded", transaction_id,
        {"transaction_id": transaction_id, "unit_id": unit_id, "achievement_id": f"ach-{transaction_id}", "kind": "license",
         "method": "agreement", "price": fee, "counterparty": LICENSEE, "basis": "notice_clear",
         "licence": {"scope": "ordinary", "start_on": None, "end_on": None},
         "payment": {"mode": "pay_later", "due_on": due_on, "conditions": "产品上市销售后支付"}},
    )
    return transaction_id


async def _opened(system: InProcessSystem, unit_id: str, count: int = 1) -> list[dict[str, Any]]:
    async def listed() -> list[dict[str, Any]] | None:
        items = await _receivables(system, unit_id)
        return items if len(items) >= count else None

    return await eventually(listed, timeout=10)


async def test_pay_later_journey_due_then_overdue_after_its_date_then_paid_as_licence_payment_income(
    system: InProcessSystem, nats_url: str, clock
) -> None:
    await clock(T0)
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    transaction_id = await _pay_later_deal(nats_url, unit_id, "2031-06-30")
    await _pay_later_deal(nats_url, unit_id, "2031-06-30")  # a second deal, so a replay below is surely handled
    await publish_event(  # the first deal again as a brand-new event: still one receivable
        nats_url, "pricing.deal.concluded", transaction_id,
        {"transaction_id": transaction_id, "unit_id": unit_id, "achievement_id": "x", "kind": "license", "price": "1.00",
         "counterparty": LICENSEE, "basis": "notice_clear", "payment": {"mode": "pay_later", "due_on": "2031-06-30", "conditions": "x"}},
    )
    items = await _opened(system, unit_id, 2)
    receivable = next(i for i in items if i["transaction_id"] == transaction_id)
    assert (receivable["kind"], receivable["state"], receivable["amount"]) == ("pay_later", "due", "30000.00")
    assert (receivable["due_on"], receivable["conditions"]) == ("2031-06-30", "产品上市销售后支付")
    assert await _incomes(system, unit_id) == []  # FIN-1: nothing received yet
    opened = await finance_events(system, "finance.receivable.opened", receivable["id"])
    assert [e["data"]["state"] for e in opened] == ["due"]

    await clock(datetime(2031, 6, 30, 23, 59, tzinfo=CST))  # the due day itself is not overdue
    problem(await _post(system, f"/receivables/{receivable['id']}/payment", {"amount": "29999.99", "paid_on": "2031-06-30"}, admin), 422, "FIN-10")
    await clock(datetime(2031, 7, 1, 0, 0, 1, tzinfo=CST))

    async def swept() -> list[dict[str, Any]]:
        return await finance_events(system, "finance.receivable.overdue", receivable["id"])

    overdue = await eventually(swept, timeout=5)  # API.md §2: applied within 5 s of the clock passing it
    assert overdue[0]["data"]["due_on"] == "2031-06-30"
    assert next(i for i in await _receivables(system, unit_id) if i["id"] == receivable["id"])["state"] == "overdue"

    paid = await _post(system, f"/receivables/{receivable['id']}/payment", {"amount": "30000.00", "paid_on": "2031-07-01"}, admin)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["state"], paid.json()["payment"]) == ("paid", {"amount": "30000.00", "paid_on": "2031-07-01"})
    [income] = await _incomes(system, unit_id)
    assert (income["source"], income["amount"], income["receivable_id"], income["transaction_id"]) == (
        "licence_payment", "30000.00", receivable["id"], transaction_id
    )
    assert paid.json()["income_id"] == income["id"]
    [event] = await finance_events(system, "finance.receivable.paid", receivable["id"])
    assert event["data"]["income_id"] == income["id"]
    problem(await _post(system, f"/receivables/{receivable['id']}/payment", {"amount": "30000.00", "paid_on": "2031-07-01"}, admin), 409, "FIN-10")
    problem(await _post(system, f"/receivables/{receivable['id']}/waiver", {"decision": DECISION, "reason": "x"}, admin), 409, "FIN-10")
    assert len(await finance_events(system, "finance.receivable.overdue", receivable["id"])) == 1


async def test_a_read_shows_overdue_as_of_now_before_the_sweeper_ran_and_writes_nothing(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    await _pay_later_deal(nats_url, unit_id, "2399-12-31")  # far beyond every test's clock: no sweeper reaches it
    [item] = await _opened(system, unit_id)
    actor = Principal(sub="admin", roles=frozenset({"unit_admin"}), unit_id=unit_id)
    runtime = system.runtime("finance")
    async with runtime.sessions() as session:
        on_the_day = await receivables.get_receivable(session, actor=actor, receivable_id=item["id"], now=datetime(2399, 12, 31, 12, tzinfo=CST))
        later = await receivables.get_receivable(session, actor=actor, receivable_id=item["id"], now=datetime(2400, 1, 1, 0, 1, tzinfo=CST))
        assert (on_the_day.state, later.state) == ("due", "overdue")
        assert not session.dirty and not session.new
    async with runtime.sessions() as session:
        stored = (await session.execute(select(Receivable).where(Receivable.id == item["id"]))).scalar_one()
    assert stored.state == "due" and stored.version == 1
    assert await finance_events(system, "finance.receivable.overdue", item["id"]) == []


async def test_two_replicas_sweeping_at_once_move_each_past_due_receivable_once_with_one_event(
    system: InProcessSystem, nats_url: str
) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    for _ in range(12):
        await _pay_later_deal(nats_url, unit_id, "2450-03-01")  # beyond the other tests' clocks
    items = await _opened(system, unit_id, 12)
    later = datetime(2450, 3, 2, 9, tzinfo=CST)  # the sweep's `now`, without moving the shared clock
    primary = system.runtime("finance")
    replica_app = create_app(settings=primary.settings, peers={})  # a second process on the same database
    async with replica_app.router.lifespan_context(replica_app):
        replica = replica_app.state.runtime

        async def one_pass(runtime) -> None:
            async with runtime.sessions() as session, session.begin():
                await receivables.sweep_overdue(session, later)

        await asyncio.gather(*[one_pass(runtime) for runtime in (primary, replica) for _ in range(3)])
    for item in items:
        assert len(await finance_events(system, "finance.receivable.overdue", item["id"])) == 1
    async with primary.sessions() as session:
        rows = (await session.execute(select(Receivable).where(Receivable.unit_id == unit_id))).scalars().all()
    assert {(row.state, row.version) for row in rows} == {("overdue", 2)}


async def test_a_waiver_needs_the_units_decision_and_a_reason(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    admin = system.auth("unit_admin", unit_id)
    await _pay_later_deal(nats_url, unit_id, "2399-12-31")
    [item] = await _opened(system, unit_id)
    path = f"/receivables/{item['id']}/waiver"
    problem(await _post(system, path, {"reason": "企业经营困难"}, admin), 422, "FIN-10")
    problem(await _post(system, path, {"decision": DECISION}, admin), 422, "FIN-10")
    problem(await _post(system, path, {"decision": DECISION, "reason": " "}, admin), 422, "FIN-10")
    problem(await _post(system, path, {"decision": DECISION, "reason": "x"}, system.auth("unit_admin", "other")), 404)
    waived = await _post(system, path, {"decision": DECISION, "reason": "企业经营困难，单位决定免除"}, admin)
    assert waived.status_code == 200, waived.text
    assert (waived.json()["state"], waived.json()["waiver"]["reason"]) == ("waived", "企业经营困难，单位决定免除")
    assert len(await finance_events(system, "finance.receivable.waived", item["id"])) == 1
    assert await _incomes(system, unit_id) == []
    problem(await _post(system, f"/receivables/{item['id']}/payment", {"amount": "30000.00", "paid_on": "2030-01-01"}, admin), 409, "FIN-10")


async def test_agreed_return_transfer_opens_a_contingent_receivable_that_falls_due_and_settles_into_income(
    system: InProcessSystem, nats_url: str
) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    transfer_id = uuid.uuid4().hex
    base = {"achievement_id": "ach-9", "unit_id": unit_id, "enterprise": ENTERPRISE}
    data = {**base, "equity_transfer_id": transfer_id, "mode": "agreed_return"}
    await publish_event(nats_url, "ownership.equity_transfer.completed", transfer_id, data)
    await publish_event(nats_url, "ownership.equity_transfer.completed", transfer_id, data)  # replay under a new id
    marker = uuid.uuid4().hex
    await publish_event(nats_url, "ownership.equity_transfer.completed", marker, {**data, "equity_transfer_id": marker})
    items = await _opened(system, unit_id, 2)
    [receivable] = [i["id"] for i in items if i["equity_transfer_id"] == transfer_id]
    assert {(i["kind"], i["state"]) for i in items} == {("agreed_return", "contingent")}
    admin = system.auth("unit_admin", unit_id)
    settlement = {"amount": "260000.00", "settled_on": "2026-11-30"}
    problem(await _post(system, f"/receivables/{receivable}/settlement", settlement, admin), 409, "FIN-9")
    problem(await _post(system, f"/receivables/{receivable}/payment", {"amount": "1.00", "paid_on": "2030-01-01"}, admin), 409, "FIN-10")
    problem(await _post(system, f"/receivables/{receivable}/trigger", {"event": "listing", "amount": "1.00"}, system.auth("unit_admin", "x")), 404)
    due = await _post(system, f"/receivables/{receivable}/trigger", {"event": "listing", "amount": "250000.00"}, admin)
    assert due.status_code == 200, due.text
    assert (due.json()["state"], due.json()["amount"], due.json()["trigger_event"]) == ("due", "250000.00", "listing")
    problem(await _post(system, f"/receivables/{receivable}/trigger", {"event": "equity_transfer", "amount": "1.00"}, admin), 409, "FIN-9")
    problem(await _post(system, f"/receivables/{receivable}/settlement", {"amount": "0.00", "settled_on": "2030-01-01"}, admin), 422, "FIN-9")
    settled = await _post(system, f"/receivables/{receivable}/settlement", settlement, admin)
    assert settled.status_code == 200, settled.text
    assert (settled.json()["state"], settled.json()["settlement"]) == ("settled", settlement)
    [income] = await _incomes(system, unit_id)
    assert (income["source"], income["amount"], income["receivable_id"]) == ("agreed_return", "260000.00", receivable)
    assert len(await finance_events(system, "finance.receivable.settled", receivable)) == 1
    assert len(await _receivables(system, unit_id)) == 2
