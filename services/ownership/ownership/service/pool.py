"""Pool and separate-ledger use cases: the public pay-later pool, its publications (OWN-10), the ledger (OWN-7)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import PoolPublished
from ownership import repository
from ownership.domain import pool as pool_rules
from ownership.models import Achievement, PoolPublication
from ownership.schemas import LedgerItem, PoolItem, PoolPublicationRead, SeparateLedgerRead
from ownership.service.common import READ_GLOBAL_ROLES, emit_event, ensure_writer
from servicekit.auth import Principal, ensure_unit_access
from servicekit.clock import shanghai_day
from servicekit.errors import Conflict, NotFound
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of


def _pool_item(achievement: Achievement) -> PoolItem:
    assert achievement.first_granted_on is not None  # pool members have an IP right (OWN-10)
    return PoolItem(
        achievement_id=achievement.id, title=achievement.title, kind=achievement.kind,
        ip_rights=achievement.ip_rights, held_since=achievement.first_granted_on,
    )


async def get_pool(
    session: AsyncSession, *, unit_id: str, limit: int, cursor: str | None, now: datetime
) -> Page[PoolItem]:
    """The unit's current pay-later pool, public (OWN-10)."""
    if await repository.get_unit(session, unit_id) is None:
        raise NotFound()
    key = decode_cursor(cursor)
    cutoff = pool_rules.pool_cutoff(shanghai_day(now))
    rows = await repository.list_pool(session, unit_id=unit_id, cutoff=cutoff, after=str(key[0]) if key else None, limit=limit)
    return page_of(rows, limit, key=lambda row: [row.id], convert=_pool_item)


def _publication_read(publication: PoolPublication) -> PoolPublicationRead:
    return PoolPublicationRead(
        unit_id=publication.unit_id, number=publication.number, published_at=publication.published_at,
        items=publication.items,
    )


async def publish_pool(session: AsyncSession, *, actor: Principal, unit_id: str, now: datetime) -> PoolPublicationRead:
    """Publish the current pool as the unit's next numbered, immutable publication (OWN-10)."""
    # Locking the unit row serialises a unit's publications, so numbers are 1, 2, 3 … with no gaps.
    unit = await repository.get_unit(session, unit_id, for_update=True)
    if unit is None:
        raise NotFound()
    ensure_writer(actor, unit.id)
    cutoff = pool_rules.pool_cutoff(shanghai_day(now))
    members = await repository.list_pool(session, unit_id=unit.id, cutoff=cutoff, after=None, limit=None)
    items = [_pool_item(member).model_dump(mode="json") for member in members]
    number = await repository.next_publication_number(session, unit.id)
    publication = PoolPublication(id=new_id(), unit_id=unit.id, number=number, published_at=now, items=items)
    try:
        async with session.begin_nested():
            session.add(publication)
    except IntegrityError as exc:
        # The unique (unit_id, number) is the last line of defence should the lock be bypassed.
        raise Conflict("another publication took this number; publish again") from exc
    event = PoolPublished(
        unit_id=unit.id, number=number, item_count=len(items), publication_id=publication.id,
        achievement_ids=[item["achievement_id"] for item in items],
    )
    await emit_event(session, "ownership.pool.published", publication.id, event, now)
    return _publication_read(publication)


async def get_publication(session: AsyncSession, *, unit_id: str, number: int) -> PoolPublicationRead:
    """A published pool exactly as it was published, public (OWN-10)."""
    publication = await repository.get_publication(session, unit_id, number)
    if publication is None:
        raise NotFound()
    return _publication_read(publication)


async def get_separate_ledger(session: AsyncSession, *, actor: Principal, unit_id: str) -> SeparateLedgerRead:
    """The unit's separate ledger: separately managed achievements and state equity (OWN-7, FIN-2)."""
    if await repository.get_unit(session, unit_id) is None:
        raise NotFound()
    ensure_unit_access(actor, unit_id, unit_roles=("unit_admin",), global_roles=READ_GLOBAL_ROLES)
    items = [
        LedgerItem(
            kind="achievement", achievement_id=a.id, title=a.title, decision=a.separate_decision,
            since=a.separately_managed_at,
        )
        for a in await repository.list_separately_managed(session, unit_id)
    ]
    items += [
        LedgerItem(
            kind="state_equity", source=e.source, investment_id=e.investment_id, transaction_id=e.transaction_id,
            achievement_id=e.achievement_id, enterprise=e.enterprise, value=e.value, since=e.recorded_at,
        )
        for e in await repository.list_state_equity(session, unit_id)
    ]
    return SeparateLedgerRead(unit_id=unit_id, items=items)
