"""FIN-1: income only for money received — a deal paid at conclusion, a resource fee — exactly once under any
redelivery; a concluded investment is equity in the separate ledger, never income."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from contracts.envelope import CloudEvent
from contracts.events import DealConcluded
from finance.models import Income
from finance.service import incomes, proceeds
from servicekit.consumers import Handles
from servicekit.testing import InProcessSystem, eventually, publish_event

INCOMES = "/api/v1/incomes"


def _deal(unit_id: str, transaction_id: str, price: str = "150000.00", kind: str = "transfer", **extra: Any) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "unit_id": unit_id,
        "achievement_id": f"ach-{transaction_id}",
        "kind": kind,
        "price": price,
        "counterparty": {"name": "沈阳新松", "credit_code": "91210100", "kind": "enterprise", "ownership": "other", "overseas": False},
        "basis": "notice_clear",
        "concluded_at": "2030-01-01T00:00:00+08:00",
        **extra,
    }


async def _incomes(system: InProcessSystem, unit_id: str) -> list[dict[str, Any]]:
    response = await system.clients["finance"].get(INCOMES, params={"unit_id": unit_id}, headers=system.auth("unit_admin", unit_id))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def _count(system: InProcessSystem, source_id: str) -> int:
    async with system.runtime("finance").sessions() as session:
        return (await session.execute(select(func.count()).select_from(Income).where(Income.source_id == source_id))).scalar_one()


async def test_concluded_deal_is_recorded_once_as_income_retained_by_the_unit(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    transaction_id = uuid.uuid4().hex
    event_id = await publish_event(nats_url, "pricing.deal.concluded", transaction_id, _deal(unit_id, transaction_id))
    # The same event again under another Nats-Msg-Id, so JetStream's de-duplication cannot help: the inbox must.
    await publish_event(nats_url, "pricing.deal.concluded", transaction_id, _deal(unit_id, transaction_id), event_id=event_id, msg_id=uuid.uuid4().hex)
    # A replay of the same deal as a brand-new event: only the unique transaction id can stop it.
    await publish_event(nats_url, "pricing.deal.concluded", transaction_id, _deal(unit_id, transaction_id))
    marker = uuid.uuid4().hex
    await publish_event(nats_url, "pricing.deal.concluded", marker, _deal(unit_id, marker, "1.00"))
    items = await eventually(lambda: _incomes_when(system, unit_id, 2), timeout=10)
    deal = next(item for item in items if item["transaction_id"] == transaction_id)
    assert deal["source"] == "deal" and deal["amount"] == "150000.00" and deal["retained_by_unit"] is True  # FIN-1
    assert deal["achievement_id"] == f"ach-{transaction_id}"
    assert await _count(system, transaction_id) == 1


async def _incomes_when(system: InProcessSystem, unit_id: str, count: int) -> list[dict[str, Any]] | None:
    items = await _incomes(system, unit_id)
    return items if len(items) >= count else None


async def test_resource_fee_is_income_when_the_equity_transfer_completes_and_an_agreed_return_is_not(
    system: InProcessSystem, nats_url: str
) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    transfer_id = uuid.uuid4().hex
    data = {"equity_transfer_id": transfer_id, "achievement_id": "ach-7", "unit_id": unit_id, "mode": "resource_fee", "fee": "30000.00"}
    await publish_event(nats_url, "ownership.equity_transfer.completed", transfer_id, data)
    await publish_event(nats_url, "ownership.equity_transfer.completed", transfer_id, data)  # a replay under a new id
    await publish_event(
        nats_url, "ownership.equity_transfer.completed", "t2",
        {**data, "equity_transfer_id": uuid.uuid4().hex, "mode": "agreed_return", "fee": None, "enterprise": {"name": "某企业", "credit_code": "9121"}},
    )
    marker = uuid.uuid4().hex
    await publish_event(nats_url, "ownership.equity_transfer.completed", marker, {**data, "equity_transfer_id": marker, "fee": "0.01"})
    items = await eventually(lambda: _incomes_when(system, unit_id, 2), timeout=10)
    assert sorted((i["source"], i["equity_transfer_id"], i["amount"]) for i in items) == sorted(
        [("resource_fee", transfer_id, "30000.00"), ("resource_fee", marker, "0.01")]
    )
    assert all(i["retained_by_unit"] is True and i["achievement_id"] == "ach-7" for i in items)


async def test_concluded_investment_records_no_income(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    transaction_id = uuid.uuid4().hex
    await publish_event(nats_url, "pricing.deal.concluded", transaction_id, _deal(unit_id, transaction_id, "2000000.00", kind="investment"))
    marker = uuid.uuid4().hex
    await publish_event(nats_url, "pricing.deal.concluded", marker, _deal(unit_id, marker, "1.00"))
    items = await eventually(lambda: _incomes_when(system, unit_id, 1), timeout=10)
    assert [i["transaction_id"] for i in items] == [marker]  # FIN-1: the investment brought equity, not cash
    assert await _count(system, transaction_id) == 0


async def test_consumer_killed_mid_handling_records_the_income_once_on_redelivery(system: InProcessSystem) -> None:
    runner = next(r for r in system.runtime("finance").consumers if r.spec.name == "deal-income")
    unit_id = f"unit-{uuid.uuid4().hex}"
    transaction_id = uuid.uuid4().hex
    event = CloudEvent(
        id=uuid.uuid4().hex,
        source="/kezhuan/pricing",
        type="pricing.deal.concluded",
        time=datetime.now(UTC),
        subject=transaction_id,
        data=_deal(unit_id, transaction_id),
    )
    original = runner.spec

    async def crash_after_writing(session, deal: DealConcluded, incoming: CloudEvent) -> None:
        await proceeds.on_deal_concluded(session, deal, incoming)
        raise RuntimeError("process killed after the income was written, before commit")

    runner.spec = dataclasses.replace(
        original, handles={"pricing.deal.concluded": Handles(DealConcluded, crash_after_writing)}
    )
    try:
        with pytest.raises(RuntimeError):
            await runner.apply(event)
    finally:
        runner.spec = original
    assert await _count(system, transaction_id) == 0  # nothing half-applied
    assert await runner.apply(event) is True  # redelivery applies it
    assert await runner.apply(event) is False  # and a further redelivery is a no-op
    assert await _count(system, transaction_id) == 1


async def test_record_income_directly_twice_books_once(system: InProcessSystem) -> None:
    """The unique source id guards even a path that bypasses the inbox."""
    transaction_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    runtime = system.runtime("finance")
    for _ in range(2):
        async with runtime.sessions() as session, session.begin():
            await incomes.record_income(
                session, source="deal", source_id=transaction_id, unit_id="u", achievement_id="a",
                amount=Decimal("1.00"), kind="transfer", transaction_id=transaction_id, now=now,
            )
    assert await _count(system, transaction_id) == 1


async def test_income_list_is_scoped_to_the_unit_and_paginated(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    for _ in range(3):
        transaction_id = uuid.uuid4().hex
        await publish_event(nats_url, "pricing.deal.concluded", transaction_id, _deal(unit_id, transaction_id))
    await eventually(lambda: _incomes_when(system, unit_id, 3), timeout=10)
    client = system.clients["finance"]
    first = await client.get(INCOMES, params={"unit_id": unit_id, "limit": 2}, headers=system.auth("department"))
    assert first.status_code == 200 and len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    second = await client.get(
        INCOMES, params={"unit_id": unit_id, "limit": 2, "cursor": first.json()["next_cursor"]}, headers=system.auth("platform_admin")
    )
    assert len(second.json()["items"]) == 1 and second.json()["next_cursor"] is None
    own = await client.get(INCOMES, headers=system.auth("unit_admin", unit_id))
    assert len(own.json()["items"]) == 3
    assert (await client.get(INCOMES, params={"unit_id": unit_id}, headers=system.auth("unit_admin", "other"))).status_code == 404
    assert (await client.get(INCOMES, params={"unit_id": unit_id}, headers=system.auth("researcher", unit_id))).status_code == 403
    assert (await client.get(INCOMES, params={"unit_id": unit_id})).status_code == 401
    assert (await client.get(INCOMES, params={"limit": 201}, headers=system.auth("department"))).status_code == 422
    assert (await client.get(INCOMES, params={"cursor": "!!"}, headers=system.auth("department"))).status_code == 422
    income_id = first.json()["items"][0]["id"]
    assert (await client.get(f"{INCOMES}/{income_id}", headers=system.auth("unit_admin", "other"))).status_code == 404
    assert (await client.get(f"{INCOMES}/{income_id}", headers=system.auth("unit_admin", unit_id))).status_code == 200


async def test_malformed_deal_event_is_dead_lettered_at_once_not_retried_forever(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    malformed = await publish_event(nats_url, "pricing.deal.concluded", "x", {"unit_id": unit_id, "price": 12.5})
    marker = uuid.uuid4().hex
    await publish_event(nats_url, "pricing.deal.concluded", marker, _deal(unit_id, marker))
    items = await eventually(lambda: _incomes_when(system, unit_id, 1), timeout=10)
    assert [i["transaction_id"] for i in items] == [marker]
    letters = (await system.clients["finance"].get("/api/v1/dead-letters", params={"limit": 200}, headers=system.auth("platform_admin"))).json()
    [letter] = [item for item in letters["items"] if item["event_id"] == malformed and item["consumer"] == "finance-deal-income"]
    assert letter["deliveries"] == 1 and "price" in letter["reason"]


async def test_concluded_investment_of_a_separately_managed_achievement_is_state_equity_in_the_ledger_not_income(
    system: InProcessSystem, nats_url: str
) -> None:
    unit_id = (await system.register_unit())["id"]
    admin = system.auth("unit_admin", unit_id)
    ownership = system.clients["ownership"]
    created = await ownership.post("/api/v1/achievements", headers=admin, json={
        "unit_id": unit_id, "title": f"一种焊接工艺-{uuid.uuid4().hex[:4]}", "kind": "patent",
        "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().int % 10**12}.X", "granted_on": "2020-05-01"}],
        "completers": [{"person_id": "p-1", "name": "李明"}], "ethics_review_required": False,
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
    })
    assert created.status_code == 201, created.text
    achievement_id = created.json()["id"]
    managed = await ownership.post(f"/api/v1/achievements/{achievement_id}/separate-management", headers=admin,
                                   json={"decision": {"body": "校长办公会", "date": "2030-03-01", "reference": "校发〔2030〕1号"}})
    assert managed.status_code == 200, managed.text
    transaction_id = uuid.uuid4().hex
    deal = {**_deal(unit_id, transaction_id, "2000000.00", kind="investment"), "achievement_id": achievement_id}
    await publish_event(nats_url, "pricing.deal.concluded", transaction_id, deal)

    async def ledger_equity() -> list[dict[str, Any]]:
        response = await ownership.get(f"/api/v1/units/{unit_id}/separate-ledger", headers=admin)
        assert response.status_code == 200, response.text
        return [item for item in response.json()["items"] if item["kind"] == "state_equity"]

    equity = await eventually(ledger_equity, timeout=10)
    assert [(e["transaction_id"], e["value"]) for e in equity] == [(transaction_id, "2000000.00")]
    marker = uuid.uuid4().hex  # a later deal of the unit, so the investment is surely handled by finance too
    await publish_event(nats_url, "pricing.deal.concluded", marker, _deal(unit_id, marker, "1.00"))
    items = await eventually(lambda: _incomes_when(system, unit_id, 1), timeout=10)
    assert [i["transaction_id"] for i in items] == [marker]  # FIN-1: the investment brought equity, not cash
