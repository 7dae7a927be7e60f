"""A GET derives a due time-driven state as of now (API.md §2 "also on any read") and never persists it."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from pricing.models import Transaction
from servicekit.db import create_engine
from servicekit.testing import eventually

CST = timezone(timedelta(hours=8))
T0 = datetime(2030, 3, 1, 9, 0, tzinfo=CST)


async def test_a_due_notice_end_shows_on_a_get_without_the_get_persisting_it(system, market, clock, events) -> None:
    await clock(T0)
    tx, admin = await market.agreement()
    notice = await market.notice(tx, admin)
    ends_at = datetime.fromisoformat(notice["ends_at"])
    runtime = system.runtime("pricing")
    outbox = runtime.tables.outbox
    holder_engine = create_engine(runtime.settings.database_url("pricing"))
    try:
        # Hold the transaction (SQLite: the write lock; PostgreSQL: its row, which the sweeper skips),
        # so nothing but a read could close the notice while the clock passes its end.
        async with holder_engine.connect() as holder, holder.begin():
            stored = select(Transaction.state, Transaction.version).where(Transaction.id == tx["id"])
            state, version = (await holder.execute(stored.with_for_update())).one()
            assert state == "in_notice"
            setting = asyncio.create_task(system.set_clock(ends_at + timedelta(milliseconds=1)))
            await eventually(lambda: _true(runtime.clock.now() > ends_at))

            shown = await asyncio.wait_for(market.get(tx["id"], admin), timeout=30)
            assert shown["state"] == "notice_clear"  # PRC-5: no objection, as of now
            assert shown["version"] == version  # the stored version: what an If-Match must name until it is saved
            record = await asyncio.wait_for(market.record(tx["id"], admin), timeout=30)
            assert [entry["step"] for entry in record][-1] == "notice_closed"

            assert (await holder.execute(stored)).one() == ("in_notice", version)  # the GETs saved nothing
            announced = await holder.execute(select(outbox.c.envelope).where(outbox.c.type == "pricing.notice.closed"))
            assert not any(notice["id"].encode() in row.envelope for row in announced)  # nor announced anything
        await setting
    finally:
        await holder_engine.dispose()

    async def persisted() -> bool:  # the sweeper persists what the read showed, with its event
        return len(await events("pricing.notice.closed", notice["id"])) == 1

    await eventually(persisted, timeout=10)
    assert (await market.get(tx["id"], admin))["version"] == version + 1


async def _true(value: bool) -> bool:
    return value
