"""The transactions' procedural records (PRC-9) kept from pricing's events, and their exemption readiness (EXE-13).

A second aggregate beside the case: each step pricing announces is stored once, shared by every case
citing the transaction and by the readiness check a unit asks before it signs.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from exemption import repository
from exemption.domain.cases import Case
from exemption.domain.readiness import RecordStep, TransactionReadiness, is_settled, readiness
from exemption.models import EmpoweredAchievement, PricingRecordStep
from servicekit.auth import Principal, require_role
from servicekit.errors import NotFound, UpstreamUnavailable

if TYPE_CHECKING:
    from servicekit.app import Runtime

log = logging.getLogger("kezhuan.exemption")



async def record_pricing_step(
    session: AsyncSession, *, transaction_id: str, unit_id: str | None, step: RecordStep, achievement_id: str | None = None
) -> None:
    """Keep one step of a transaction's record; idempotent by (transaction_id, seq), in any order."""
    # One INSERT … ON CONFLICT DO NOTHING: the record is immutable, so a step already stored (by an
    # earlier delivery, the backfill or a concurrent writer) is this one. It replaces a SELECT plus a
    # savepointed ORM insert; exemption stores every step of every deal (bench scenario 3's CPU).
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(PricingRecordStep.__table__)
        .values(transaction_id=transaction_id, seq=step.seq, unit_id=unit_id, achievement_id=achievement_id,
                at=step.at, step=step.step, actor=step.actor, details=step.details)
        .on_conflict_do_nothing(index_elements=["transaction_id", "seq"])
    )


async def _fetch_record(runtime: "Runtime", transaction_id: str) -> tuple[str | None, str | None, list[RecordStep]] | None:
    """(unit_id, achievement_id, steps) as pricing has them now; None when pricing does not know the transaction."""
    transaction = await runtime.lookup("pricing", f"/api/v1/transactions/{transaction_id}")
    if transaction is None:
        return None
    record = await runtime.lookup("pricing", f"/api/v1/transactions/{transaction_id}/record")
    steps = []
    for index, item in enumerate((record or {}).get("items", []), start=1):
        try:
            steps.append(RecordStep.model_validate({"seq": index, **item}))
        except (ValidationError, TypeError):
            log.warning("skipping a malformed record item of transaction %s", transaction_id)
    return transaction.get("unit_id"), transaction.get("achievement_id"), steps


async def backfill_pricing_record(runtime: "Runtime", transaction_id: str, unit_id: str) -> list[RecordStep]:
    """The record as pricing has it now; empty when pricing is unreachable or does not know it (events fill it)."""
    try:
        fetched = await _fetch_record(runtime, transaction_id)
    except UpstreamUnavailable:
        log.warning("pricing unreachable; the record of %s will arrive by events", transaction_id)
        return []
    if fetched is None:
        return []
    if fetched[0] not in (None, unit_id):
        raise NotFound()  # another unit's transaction is not disclosed (API.md §2)
    return fetched[2]


async def _record(
    session: AsyncSession, runtime: "Runtime", transaction_id: str, unit_id: str | None
) -> tuple[str | None, str | None, list[RecordStep]] | None:
    """EXE-13: the transaction's record from the local copy; asked of pricing only while it may still change
    (a step announced a moment ago may not have arrived yet) and used when pricing knows more."""
    rows = await repository.list_record_steps(session, transaction_id, unit_id)
    local = [RecordStep(seq=r.seq, at=r.at, step=r.step, actor=r.actor, details=r.details) for r in rows]
    known_unit = next((r.unit_id for r in rows if r.unit_id), unit_id)
    achievement = next((r.achievement_id for r in rows if r.achievement_id), None)
    if local and is_settled(local):
        return known_unit, achievement, local
    try:
        fetched = await _fetch_record(runtime, transaction_id)
    except UpstreamUnavailable:
        fetched = None
    if fetched is not None and (unit_id is None or fetched[0] in (None, unit_id)) and len(fetched[2]) > len(local):
        return fetched[0] or known_unit, fetched[1] or achievement, fetched[2]
    return (known_unit, achievement, local) if local else None


async def _empowered(session: AsyncSession, runtime: "Runtime", achievement_id: str | None) -> bool:
    """G5.4: was the achievement empowered? From ownership's events, else asked of ownership."""
    if achievement_id is None:
        return False
    if await session.get(EmpoweredAchievement, achievement_id) is not None:
        return True
    try:
        found = await runtime.lookup("ownership", f"/api/v1/achievements/{achievement_id}/empowerments")
    except UpstreamUnavailable:
        return False
    return bool(found and found.get("items"))



async def case_record(session: AsyncSession, runtime: "Runtime", case: Case) -> tuple[list[RecordStep], bool]:
    """The linked transaction's record and whether its achievement was empowered (G5.3/G5.4, EXE-11/13)."""
    if case.matter.transaction_id is None:
        return [], False
    found = await _record(session, runtime, case.matter.transaction_id, case.unit_id)
    if found is None:
        return [], False
    _, achievement_id, steps = found
    return steps, await _empowered(session, runtime, achievement_id or case.matter.achievement_id)



async def get_readiness(session: AsyncSession, *, runtime: "Runtime", actor: Principal, transaction_id: str, now: datetime) -> TransactionReadiness:
    """EXE-13: which of G5.3/G5.4 the transaction's procedural record supports, and what is still missing."""
    require_role(actor, "unit_admin")
    found = await _record(session, runtime, transaction_id, None)
    if found is None or found[0] != actor.unit_id:
        raise NotFound()  # unknown, or another unit's transaction (API.md §2)
    _, achievement_id, steps = found
    return readiness(transaction_id, steps, empowered=await _empowered(session, runtime, achievement_id), now=now)



async def record_empowerment(session: AsyncSession, *, achievement_id: str, unit_id: str, empowerment_id: str, kind: str) -> None:
    """G5.4 (EXE-13): remember that the achievement was empowered (the first empowerment is enough)."""
    if await session.get(EmpoweredAchievement, achievement_id) is None:
        session.add(EmpoweredAchievement(achievement_id=achievement_id, unit_id=unit_id, empowerment_id=empowerment_id, type=kind))
        await session.flush()
