"""Public notices of agreement prices (PRC-4) and objections to them (PRC-5). Load → decide → save → outbox."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy
from contracts.events import NoticeObjected, NoticePublished
from pricing import deals, repository
from pricing.domain.objections import RATE_WINDOW, Contact, check_contact, over_rate_limit
from pricing.domain.transactions import Action, State, check_objection_time, next_state, notice_ends_at
from pricing.models import UNIT_POLICIES, Notice, Objection
from pricing.schemas import NoticeRead, ObjectionCreate, ObjectionRead
from pricing.views import notice_read
from servicekit.auth import Principal
from servicekit.errors import InvalidState, NotFound, TooManyRequests, check_version
from servicekit.outbox import new_id
from servicekit.pagination import Page, decode_cursor, page_of
from servicekit.units import get_unit_policy

if TYPE_CHECKING:
    from servicekit.app import Runtime

ANONYMOUS = "anonymous"


async def publish_notice(
    session: AsyncSession, runtime: "Runtime", *, actor: Principal, transaction_id: str, expected_version: int | None, now: datetime
) -> NoticeRead:
    """PRC-4: publish the achievement's name and the agreement price (a pay-later fee too, OWN-9) for the unit's notice_days."""
    unit_id, _ = await deals.unit_and_achievement(runtime, transaction_id)
    # The unit's notice_days, looked up (if not replicated yet) before the write transaction begins.
    policy = await get_unit_policy(runtime, UNIT_POLICIES, unit_id) or UnitPolicy()
    tx = await deals.locked(session, transaction_id, now)
    deals.ensure_writer(actor, tx)
    check_version(tx.version, expected_version)
    tx.state = next_state(tx.method, tx.state, Action.PUBLISH_NOTICE)
    assert tx.proposed_price is not None  # PRC-4 made it mandatory for agreement pricing
    notice = Notice(
        id=new_id(), transaction_id=tx.id, unit_id=tx.unit_id, achievement_title=tx.achievement_title,
        price=tx.proposed_price, starts_at=now, ends_at=notice_ends_at(now, policy.notice_days),
        state="active", objection_count=0, version=1,
    )
    session.add(notice)
    tx.due_at = notice.ends_at
    await session.flush()
    await deals.append_step(session, tx, step="notice_published", actor=actor.sub, details={
        "notice_id": notice.id, "achievement_title": notice.achievement_title, "price": deals.money(notice.price),
        "starts_at": notice.starts_at.isoformat(), "ends_at": notice.ends_at.isoformat(), "notice_days": policy.notice_days,
    }, now=now)
    await deals.emit_event(session, "pricing.notice.published", notice.id, NoticePublished(
        notice_id=notice.id, transaction_id=tx.id, unit_id=tx.unit_id, price=notice.price,
        starts_at=notice.starts_at.isoformat(), ends_at=notice.ends_at.isoformat()), now)
    return notice_read(notice, now)


async def get_notice(session: AsyncSession, *, notice_id: str, now: datetime) -> NoticeRead:
    """A public notice."""
    notice = await repository.get_notice(session, notice_id)
    if notice is None:
        raise NotFound()
    return notice_read(notice, now)


async def list_notices(
    session: AsyncSession, *, active: bool | None, unit_id: str | None, limit: int, cursor: str | None, now: datetime
) -> Page[NoticeRead]:
    """Public notices, optionally only those running now (PRC-4)."""
    after = decode_cursor(cursor)
    rows = await repository.list_notices(session, now=now, active=active, unit_id=unit_id,
                                         after=str(after[0]) if after else None, limit=limit)
    return page_of(rows, limit, key=lambda n: [n.id], convert=lambda n: notice_read(n, now))


async def object_to_notice(
    session: AsyncSession, *, actor: Principal | None, client_address: str, notice_id: str, data: ObjectionCreate,
    now: datetime,
) -> ObjectionRead:
    """PRC-5: anyone may object while the notice runs — with a token, or anonymously with a name and a phone or e-mail."""
    contact = Contact(**data.contact.model_dump()) if data.contact else None
    check_contact(actor is not None, contact)  # PRC-5
    notice = await repository.get_notice(session, notice_id)
    if notice is None:
        raise NotFound()
    check_objection_time(now, notice.ends_at)  # PRC-5
    tx = await deals.locked(session, notice.transaction_id, now)
    if tx.state != State.IN_NOTICE:
        # The transaction was withdrawn during the notice: the notice no longer runs.
        raise InvalidState("this notice is no longer running", rule="PRC-5")
    if actor is None and over_rate_limit(
        await repository.count_anonymous_objections(session, client_address, now - RATE_WINDOW)
    ):
        raise TooManyRequests("too many anonymous objections from this address; try again in a minute", rule="PRC-5")
    objection = Objection(
        id=new_id(), notice_id=notice.id, reason=data.reason, contact_name=contact.name if contact else None,
        contact_phone=contact.phone if contact else None, contact_email=contact.email if contact else None,
        objector=actor.sub if actor else ANONYMOUS, anonymous=actor is None,
        client_address=client_address if actor is None else None, received_at=now,
    )
    session.add(objection)
    notice.objection_count += 1
    await session.flush()
    await deals.append_step(session, tx, step="objection_received", actor=objection.objector, details={
        "notice_id": notice.id, "objection_id": objection.id, "reason": data.reason, "anonymous": objection.anonymous,
    }, now=now)
    await deals.emit_event(session, "pricing.notice.objected", notice.id,
                           NoticeObjected(notice_id=notice.id, transaction_id=tx.id, unit_id=tx.unit_id), now)
    return ObjectionRead(id=objection.id, notice_id=notice.id, reason=objection.reason, anonymous=objection.anonymous,
                         received_at=now)
