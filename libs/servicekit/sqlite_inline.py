"""SQLite for the async engine without a thread hop per call: statements run on the event loop.

aiosqlite runs every call on its own thread and wakes the event loop for each result; an API
write made ~34 such hand-offs, a third of its time (bench/README.md, scenario 2). A local SQLite
statement takes microseconds, so running it inline is cheaper than the hand-off; SQLAlchemy's
cursor goes straight to sqlite3, with one await per statement instead of four. The one call that
can wait long is taking the write lock while another process holds it: the connection uses
`busy_timeout=0` and a busy statement is retried with `asyncio.sleep` back-off, so the loop never
blocks on another writer.

This module doubles as the "aiosqlite" module the SQLAlchemy dialect expects (connect, Connection,
the DB-API exceptions). `create_engine` in `servicekit.db` selects it for every SQLite URL.
"""
from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_

__version__ = sqlite3.sqlite_version
sqlite_version = sqlite3.sqlite_version
sqlite_version_info = sqlite3.sqlite_version_info
DatabaseError = sqlite3.DatabaseError
Error = sqlite3.Error
IntegrityError = sqlite3.IntegrityError
NotSupportedError = sqlite3.NotSupportedError
OperationalError = sqlite3.OperationalError
ProgrammingError = sqlite3.ProgrammingError

LOCK_WAIT_SECONDS = 60.0
"""How long a statement waits for another connection's write lock before failing (was busy_timeout)."""
_FIRST_BACKOFF, _MAX_BACKOFF = 0.001, 0.05
_SQLITE_BUSY = 5


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == _SQLITE_BUSY


async def _run(call: Any, *args: Any) -> Any:
    """`call(*args)`, retried without blocking the loop while another connection holds the lock."""
    deadline, delay = None, _FIRST_BACKOFF
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            deadline = deadline or time.monotonic() + LOCK_WAIT_SECONDS
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_BACKOFF)


class Connection:
    """What SQLAlchemy's aiosqlite adapter keeps of aiosqlite's connection: the sqlite3 connection
    (`_connection`, None once closed), closing, functions and the isolation level. Statements go
    through `_SyncCursor`."""

    def __init__(self, connection: sqlite3.Connection, read_only: bool = False) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.read_only = read_only

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._open.isolation_level = value  # type: ignore[assignment]  # SQLAlchemy sets only values sqlite3 takes


async def connect(database: str, read_only: bool = False, **kwargs: Any) -> Connection:
    """Open the database: WAL, foreign keys on, no busy wait, and autocommit mode (the dialect begins).

    A `read_only` connection refuses every write (`query_only`) and begins deferred, so it never
    takes the write lock: in WAL mode it reads the last committed state while a writer works.
    """
    kwargs.pop("check_same_thread", None)
    connection = sqlite3.connect(database, check_same_thread=False, **kwargs)
    connection.isolation_level = None
    for pragma in ("busy_timeout=0", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    await _run(connection.execute, "PRAGMA journal_mode=WAL")  # needs the lock the first time
    if read_only:
        connection.execute("PRAGMA query_only=ON")
    return Connection(connection, read_only)


class _SyncCursor:
    """The DB-API cursor SQLAlchemy drives, straight on sqlite3: one await per statement (AsyncConnection
    insists on one), none for fetching, describing or closing. Rows are fetched with the statement, as
    SQLAlchemy's async results expect (they may close the cursor before reading them)."""

    __slots__ = ("_cursor", "_rows")

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor
        self._rows: deque[Any] = deque()

    def execute(self, operation: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        await_(_run(self._cursor.execute, operation, () if parameters is None else parameters))
        self._rows = deque(self._cursor.fetchall()) if self._cursor.description else deque()

    def executemany(self, operation: str, parameters: Iterable[Any]) -> Any:
        await_(_run(self._cursor.executemany, operation, list(parameters)))
        self._rows = deque(self._cursor.fetchall()) if self._cursor.description else deque()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(size if size is not None else self._cursor.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    async def _async_soft_close(self) -> None:
        """Nothing to release: the rows are already in memory."""

    def setinputsizes(self, *sizes: Any) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    @property
    def _raw(self) -> sqlite3.Connection:
        raw = self._connection._connection
        if raw is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return raw

    # _SyncCursor and Connection stand in for SQLAlchemy's aiosqlite cursor and aiosqlite's connection
    # by duck typing (the point of this module), so their declared types differ from SQLAlchemy's.
    def cursor(self, server_side: bool = False) -> _SyncCursor:  # type: ignore[override]
        return _SyncCursor(self._raw.cursor())

    def commit(self) -> None:
        if self._connection._connection is not None:
            await_(_run(self._raw.commit))

    def rollback(self) -> None:
        if self._connection._connection is not None:
            self._raw.rollback()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *args: Any, **kwargs: Any) -> _AdaptedConnection:
        kwargs.pop("async_creator_fn", None)
        return _AdaptedConnection(self, await_(connect(*args, **kwargs)))  # type: ignore[arg-type]


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    """`sqlite+inline://`: the aiosqlite dialect with statements run on the event loop."""

    driver = "inline"
    supports_statement_cache = True
    supports_server_side_cursors = False

    def do_begin(self, dbapi_connection: Any) -> None:
        # A writer takes the write lock up front: a read-then-write transaction can never deadlock,
        # and two processes (replicas, relays) serialise on the file lock. A reader never takes it.
        read_only = dbapi_connection._connection.read_only
        dbapi_connection.cursor().execute("BEGIN" if read_only else "BEGIN IMMEDIATE")

    @classmethod
    def import_dbapi(cls) -> _DBAPI:
        return _DBAPI(sys.modules[__name__], sqlite3)


registry.register("sqlite.inline", __name__, "InlineSQLiteDialect")
