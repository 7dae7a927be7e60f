"""All ownership queries."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ownership.models import Unit


async def get_unit(session: AsyncSession, unit_id: str, *, for_update: bool = False) -> Unit | None:
    statement = select(Unit).where(Unit.id == unit_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_units(session: AsyncSession, *, after: str | None, limit: int) -> list[Unit]:
    statement = select(Unit).order_by(Unit.id).limit(limit + 1)
    if after is not None:
        statement = statement.where(Unit.id > after)
    return list((await session.execute(statement)).scalars())
