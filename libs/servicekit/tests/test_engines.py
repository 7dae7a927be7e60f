"""Engines: the inline SQLite driver (statements on the event loop, lock waits that do not block it), fair pools, pings."""
from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ownership.models import Unit
from servicekit import sqlite_inline
from servicekit.clock import real_now
from servicekit.db import create_engine, insert_new
from servicekit.outbox import new_id
from servicekit.testing import eventually


@pytest.fixture
async def engine(tmp_path: Path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    yield engine
    await engine.dispose()


async def test_any_sqlite_url_uses_the_inline_driver(engine) -> None:
    assert engine.dialect.driver == "inline"
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (id, v) VALUES (1, 'a')"))
        assert (await connection.execute(text("SELECT v FROM t"))).scalar_one() == "a"
        assert (await connection.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"


async def test_a_write_waits_for_another_writers_lock_while_the_loop_runs(engine, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer holds the lock
    ticks = 0

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (id, v) VALUES (2, 'mine')"))

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    beating = asyncio.create_task(heartbeat())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.2)
    assert not writing.done(), "the write must wait for the lock"
    waited_ticks = ticks
    other.execute("INSERT INTO t (id, v) VALUES (3, 'theirs')")
    other.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    beating.cancel()
    other.close()
    assert waited_ticks > 10, "the event loop was blocked while the write waited"
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT id, v FROM t ORDER BY id"))).all() == [(2, "mine"), (3, "theirs")]


async def test_a_lock_never_released_fails_after_the_wait(engine, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sqlite_inline, "LOCK_WAIT_SECONDS", 0.1)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Exception, match="locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (id, v) VALUES (4, 'late')"))
    finally:
        other.execute("ROLLBACK")
        other.close()


async def test_errors_are_the_dbapi_errors_sqlalchemy_wraps(engine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (id, v) VALUES (5, 'x')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (id, v) VALUES (5, 'again')"))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one() == 1


async def test_waiting_connections_are_served_in_arrival_order(engine) -> None:
    """A connection returned by one task goes to the longest waiter, even if that task asks again at once."""
    served: list[str] = []
    release = asyncio.Event()

    async def wait_in_line(name: str) -> None:
        async with engine.connect() as connection:
            served.append(name)
            await connection.execute(text("SELECT 1"))

    async def holder() -> None:
        async with engine.connect() as connection:
            served.append("holder")
            await connection.execute(text("SELECT 1"))
            await release.wait()
        async with engine.connect():  # asks again in the same step it gave the connection back
            served.append("holder again")

    queue = engine.sync_engine.pool._pool
    holding = asyncio.create_task(holder())
    await eventually(_true_when(lambda: served == ["holder"]))
    waiting = []
    for n in range(3):  # each waiter is in the queue before the next one arrives
        waiting.append(asyncio.create_task(wait_in_line(f"waiter {n}")))
        await eventually(_true_when(lambda n=n: len(queue._waiters) == n + 1))
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, *waiting), 5)
    assert served == ["holder", "waiter 0", "waiter 1", "waiter 2", "holder again"]


async def test_a_waiter_that_gives_up_passes_its_turn_on(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'timeout.db'}")
    engine.pool._timeout = 0.05  # type: ignore[attr-defined]  # QueuePool's wait, private
    try:
        async with engine.connect() as held:
            await held.execute(text("SELECT 1"))
            with pytest.raises(Exception, match="QueuePool limit"):
                async with engine.connect():
                    pass
        async with engine.connect() as again:  # the pool still has its one connection
            assert (await again.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_a_resting_postgresql_connection_that_broke_is_replaced_before_use(databases, monkeypatch) -> None:
    """PostgreSQL only: a pooled connection whose server side went away is pinged and replaced at checkout."""
    from servicekit import db

    url = await databases.url(f"ping_{uuid.uuid4().hex[:6]}")
    if not url.startswith("postgresql"):
        pytest.skip("pinging resting connections concerns PostgreSQL")
    monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)
    engine = create_engine(url, pool_size=1, max_overflow=0)
    killer = create_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            backend = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with killer.connect() as connection:  # the server drops the resting connection
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one() != backend
    finally:
        await engine.dispose()
        await killer.dispose()


def _true_when(condition):
    async def check() -> bool:
        return condition()

    return check


async def test_insert_new_keeps_the_entity_in_the_session_so_later_changes_are_saved(system) -> None:
    runtime = system.runtime("ownership")
    unit = Unit(id=new_id(), name="插入测试大学", type="university", notice_days=15, review_request_days=15,
                patent_change_days=90, created_at=real_now())
    async with runtime.sessions() as session, session.begin():
        await insert_new(session, unit)
        assert unit in session and unit.version == 1 and unit.central_in_liaoning is False
        unit.name = "改名后的大学"
    async with runtime.sessions() as session:
        stored = await session.get(Unit, unit.id)
        assert (stored.name, stored.version) == ("改名后的大学", 2)


async def test_a_version_rises_once_per_changing_transaction_however_often_it_flushes(system) -> None:
    runtime = system.runtime("ownership")
    unit_id = (await system.register_unit())["id"]

    async def renamed(*names: str) -> int:
        async with runtime.sessions() as session, session.begin():
            unit = await session.get(Unit, unit_id)
            for name in names:
                unit.name = name
                await session.flush()
            return unit.version

    assert await renamed("一大学", "二大学") == 2
    assert await renamed("三大学") == 3
    assert await renamed() == 3  # a transaction that changes nothing keeps the version
    async with runtime.read_sessions() as session:
        assert (await session.get(Unit, unit_id)).version == 3
