"""Equity transfer use case (OWN-11): the unit's retained share passes to the team."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from ownership import repository
from ownership.domain.empowerment import HUNDRED
from ownership.domain.rights import current_ownership
from ownership.models import EquityTransfer
from ownership.schemas import EquityTransferCreate, EquityTransferRead
from ownership.service.common import emit_decided, load_aggregate, save_aggregate, save_holding
from servicekit.auth import Principal
from servicekit.outbox import new_id


def transfer_read(transfer: EquityTransfer) -> EquityTransferRead:
    """An equity transfer as the API shows it: the team then holds 100%."""
    return EquityTransferRead(
        id=transfer.id, achievement_id=transfer.achievement_id, empowerment_id=transfer.empowerment_id,
        unit_id=transfer.unit_id, mode=transfer.mode, fee=transfer.fee, enterprise=transfer.enterprise,
        team_share=HUNDRED, unit_share=Decimal("0.00"), transferred_share=transfer.transferred_share,
        decision=transfer.decision, created_at=transfer.created_at, version=transfer.version,
    )


async def transfer_equity(
    session: AsyncSession, *, actor: Principal, achievement_id: str, data: EquityTransferCreate, now: datetime
) -> EquityTransferRead:
    """Pass the unit's retained share to the team on the unit's own decision (OWN-11, OWN-8, OWN-16)."""
    row, achievement = await load_aggregate(session, actor, achievement_id, write=True)
    before = current_ownership(achievement.holdings)
    enterprise = data.enterprise.model_dump(mode="json") if data.enterprise else None
    decision = data.decision.model_dump(mode="json") if data.decision else None
    decided = achievement.transfer_equity(
        transfer_id=new_id(), mode=data.mode, fee=data.fee, enterprise=enterprise, decision=decision
    )  # OWN-11, OWN-14, OWN-15, OWN-16
    assert before is not None and before.unit_share is not None and decision is not None  # OWN-11 checked them
    empowerments = {e.id: e for e in await repository.list_achievement_empowerments(session, row.id)}
    save_holding(empowerments[before.empowerment_id], decided.achievement.holding(before.empowerment_id))
    transfer = EquityTransfer(
        id=decided.events[0].subject, achievement_id=row.id, empowerment_id=before.empowerment_id,
        unit_id=row.unit_id, mode=data.mode, fee=data.fee, enterprise=enterprise,
        transferred_share=before.unit_share, decision=decision, created_at=now, version=1,
    )
    session.add(transfer)
    save_aggregate(row, decided.achievement)
    await session.flush()
    await emit_decided(session, decided, now)
    return transfer_read(transfer)
