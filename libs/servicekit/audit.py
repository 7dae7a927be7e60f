"""Tamper-evident audit trail: every state change (every outbox event) in a hash chain.

`servicekit.outbox.emit` appends an unsealed entry in the business transaction. The sealer then
gives entries their place in the chain in commit order: it takes the chain lock (an advisory
lock on PostgreSQL, the database write lock on SQLite), reads the head, and writes each entry's
`position`, `prev_hash` and `entry_hash`. Sealing after commit (instead of hashing at insert)
keeps business transactions from serialising on the chain head, and the unique `position` makes
two replicas' sealers safe even without the lock: the loser's transaction fails and retries.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from servicekit.clock import real_now

log = logging.getLogger("kezhuan.audit")

GENESIS_HASH = "0" * 64
SEAL_BATCH = 500
_CHAIN_LOCK_KEY = 0x6B657A6175646974
"""PostgreSQL advisory lock id of the chain head ("kezaudit")."""

ACTOR_KEY = "audit_actor"
"""`session.info` key naming who caused the change (token sub, consumer or sweeper)."""


def payload_hash(envelope: bytes) -> str:
    """SHA-256 of the event exactly as stored in the outbox and published."""
    return hashlib.sha256(envelope).hexdigest()


def entry_hash(prev_hash: str, row: Any, position: int) -> str:
    """The chain link: hash of the previous link and every recorded field of this entry."""
    fields = (
        prev_hash,
        str(position),
        row.event_id,
        row.event_type,
        row.aggregate_id,
        row.actor or "",
        row.request_id or "",
        row.payload_hash,
        _instant(row.recorded_at),
    )
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def _instant(value: datetime) -> str:
    # Microseconds since the epoch: the same on SQLite (naive UTC) and PostgreSQL (aware).
    return str(int(value.timestamp() * 1_000_000))


def entry(
    session: AsyncSession,
    *,
    event_id: str,
    event_type: str,
    aggregate_id: str,
    request_id: str | None,
    envelope: bytes,
) -> dict[str, Any]:
    """The unsealed audit row of one state change (who caused it is in `session.info`)."""
    return {
        "event_id": event_id,
        "event_type": event_type,
        "aggregate_id": aggregate_id,
        "actor": session.info.get(ACTOR_KEY),
        "request_id": request_id,
        "payload_hash": payload_hash(envelope),
        "recorded_at": real_now(),
    }


async def seal_pending(sessions: async_sessionmaker, table: Table) -> int:
    """Chain every committed unsealed entry; returns how many were sealed."""
    sealed = 0
    while True:
        try:
            count = await _seal_batch(sessions, table)
        except IntegrityError:
            # Another replica sealed the same positions first; read the new head and go on.
            continue
        sealed += count
        if count < SEAL_BATCH:
            return sealed


async def _seal_batch(sessions: async_sessionmaker, table: Table) -> int:
    async with sessions() as session, session.begin():
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
        head = (
            await session.execute(
                select(table.c.position, table.c.entry_hash)
                .where(table.c.position.is_not(None))
                .order_by(table.c.position.desc())
                .limit(1)
            )
        ).first()
        position, prev = (head.position, head.entry_hash) if head else (0, GENESIS_HASH)
        pending = (
            await session.execute(
                select(table).where(table.c.position.is_(None)).order_by(table.c.seq).limit(SEAL_BATCH)
            )
        ).all()
        links: list[dict[str, Any]] = []
        for row in pending:
            position += 1
            link = entry_hash(prev, row, position)
            links.append({"sealed_seq": row.seq, "position": position, "prev_hash": prev, "entry_hash": link})
            prev = link
        if links:
            # One executemany for the batch: an UPDATE statement per entry was most of the
            # sealing's CPU (bench/README.md, scenario 2), and every audited write is sealed.
            await session.execute(update(table).where(table.c.seq == bindparam("sealed_seq")), links)
        return len(pending)


@dataclass(frozen=True)
class Verification:
    """The result of walking a chain."""

    entries: int
    intact: bool
    first_broken_seq: int | None


async def verify_chain(sessions: async_sessionmaker, table: Table) -> Verification:
    """Recompute every link in chain order; the first entry whose stored hashes disagree breaks it."""
    async with sessions() as session:
        total = (await session.execute(select(func.count()).select_from(table))).scalar_one()
        rows = (
            await session.execute(
                select(table).where(table.c.position.is_not(None)).order_by(table.c.position)
            )
        ).all()
    prev = GENESIS_HASH
    for expected_position, row in enumerate(rows, start=1):
        if (
            row.position != expected_position
            or row.prev_hash != prev
            or row.entry_hash != entry_hash(prev, row, row.position)
        ):
            return Verification(entries=total, intact=False, first_broken_seq=expected_position)
        prev = row.entry_hash
    return Verification(entries=total, intact=True, first_broken_seq=None)
