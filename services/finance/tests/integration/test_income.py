"""FIN-1: one income entry per concluded deal or pay-later licence, exactly once under any redelivery."""
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
from finance import service
from finance.models import Income
from servicekit.consumers import Handles
from servicekit.testing import InProcessSystem, eventually, publish_event

INCOMES = "/api/v1/incomes"


def _deal(unit_id: str, transaction_id: str, price: str = "150000.00") -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "unit_id": unit_id,
        "achievement_id": f"ach-{transaction_id}",
        "kind": "transfer",
        "price": price,
        "counterparty": {"name": "沈阳新松", "credit_code": "91210100", "kind": "enterprise", "ownership": "other", "overseas": False},
        "basis": "notice_clear",
        "concluded_at": "2030-01-01T00:00:00+08:00",
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


async def test_pay_later_licence_fee_is_income_with_source_licence(system: InProcessSystem, nats_url: str) -> None:
    unit_id = f"unit-{uuid.uuid4().hex}"
    licence_id = uuid.uuid4().hex
    data = {
        "licence_id": licence_id,
        "achievement_id": "ach-1",
        "unit_id": unit_id,
        "fee": "30000.00",
        "licensee": {"name": "大连某小微企业", "credit_code": "9121", "size": "micro"},
        "payment_due_on": "2031-01-01",
    }
    await publish_event(nats_url, "ownership.licence.granted", licence_id, data)
    await publish_event(nats_url, "ownership.licence.granted", licence_id, data)
    items = await eventually(lambda: _incomes_when(system, unit_id, 1), timeout=10)
    assert [(i["source"], i["licence_id"], i["amount"], i["retained_by_unit"]) for i in items] == [
        ("licence", licence_id, "30000.00", True)
    ]
    runtime = system.runtime("finance")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        emitted = (await session.execute(select(func.count()).select_from(outbox).where(outbox.c.type == "finance.income.recorded"))).scalar_one()
    assert emitted >= 1
    # Only after the second event was surely handled can we say it did nothing.
    marker = uuid.uuid4().hex
    await publish_event(nats_url, "ownership.licence.granted", marker, {**data, "licence_id": marker})
    await eventually(lambda: _incomes_when(system, unit_id, 2), timeout=10)
    assert await _count(system, licence_id) == 1


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
        await service.on_deal_concluded(session, deal, incoming)
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
            await service.record_income(
                session, source="deal", source_id=transaction_id, unit_id="u", achievement_id="a",
                amount=Decimal("1.00"), kind="transfer", now=now,
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
