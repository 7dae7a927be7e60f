"""Exemption's event handlers (idempotent through the inbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import RecordAppended
from exemption import service
from exemption.domain.assessment import RecordStep
from exemption.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec, Handles
from servicekit.units import unit_policy_consumer


class RecordStepAppended(RecordAppended):
    """`pricing.record.appended` as exemption keeps it: `at` must be an instant (the assessment orders by it)."""

    at: datetime  # type: ignore[assignment]  # stricter than the contract's string, as ConsumerSpec allows


async def on_record_appended(session: AsyncSession, appended: RecordStepAppended, event: CloudEvent) -> None:
    """Contract item 2: keep each transaction's procedural record (PRC-9) for the cases that cite it."""
    step = RecordStep(seq=appended.seq, at=appended.at, step=appended.step, actor=appended.actor, details=appended.details)
    await service.record_pricing_step(
        session, transaction_id=appended.transaction_id, unit_id=appended.unit_id, step=step
    )


CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(
        name="pricing-record", handles={"pricing.record.appended": Handles(RecordStepAppended, on_record_appended)}
    ),
]
