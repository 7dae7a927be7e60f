"""All exemption queries."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from exemption.models import ExemptionCase, PricingRecordStep


async def get_case(session: AsyncSession, case_id: str, *, for_update: bool = False) -> ExemptionCase | None:
    statement = select(ExemptionCase).where(ExemptionCase.id == case_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_cases_past_review_window(session: AsyncSession, *, until: datetime, limit: int) -> list[ExemptionCase]:
    """Cases awaiting confirmation whose review deadline is at or before `until`, locked (skipping rows others hold)."""
    statement = (
        select(ExemptionCase)
        .where(ExemptionCase.state == "awaiting_confirmation", ExemptionCase.review_deadline <= until)
        .order_by(ExemptionCase.review_deadline)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(statement)).scalars())


async def list_record_steps(session: AsyncSession, transaction_id: str, unit_id: str | None) -> list[PricingRecordStep]:
    """The transaction's record steps known here; with a unit, steps announced for another unit never show."""
    statement = (
        select(PricingRecordStep)
        .where(PricingRecordStep.transaction_id == transaction_id)
        .order_by(PricingRecordStep.seq)
    )
    steps = (await session.execute(statement)).scalars()
    return [s for s in steps if unit_id is None or s.unit_id is None or s.unit_id == unit_id]
