"""Exemption's event handlers (idempotent through the inbox)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import EmpowermentGranted, RecordAppended
from exemption import records
from exemption.domain.readiness import RecordStep
from exemption.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec, Handles
from servicekit.units import unit_policy_consumer


class RecordStepAppended(RecordAppended):
    """`pricing.record.appended` as exemption keeps it: `at` must be an instant (the assessment orders by it)."""

    at: datetime  # type: ignore[assignment]  # stricter than the contract's string, as ConsumerSpec allows


async def on_record_appended(session: AsyncSession, appended: RecordStepAppended, event: CloudEvent) -> None:
    """Contract item 2: keep each transaction's procedural record (PRC-9) for the cases that cite it."""
    step = RecordStep(seq=appended.seq, at=appended.at, step=appended.step, actor=appended.actor, details=appended.details)
    await records.record_pricing_step(
        session, transaction_id=appended.transaction_id, unit_id=appended.unit_id, step=step,
        achievement_id=appended.achievement_id,
    )


async def on_empowerment_granted(session: AsyncSession, granted: EmpowermentGranted, event: CloudEvent) -> None:
    """EXE-13 / G5.4: remember which achievements were empowered, for the readiness of their transfers."""
    await records.record_empowerment(session, achievement_id=granted.achievement_id, unit_id=granted.unit_id,
                                     empowerment_id=granted.empowerment_id, kind=granted.type)


CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(
        name="pricing-record", handles={"pricing.record.appended": Handles(RecordStepAppended, on_record_appended)}
    ),
    ConsumerSpec(
        name="empowerments", handles={"ownership.empowerment.granted": Handles(EmpowermentGranted, on_empowerment_granted)}
    ),
]
