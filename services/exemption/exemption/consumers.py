"""Exemption's event handlers (idempotent through the inbox)."""
from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from exemption import records
from exemption.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec
from servicekit.units import unit_policy_consumer

log = logging.getLogger("kezhuan.exemption.consumers")


async def on_record_appended(session: AsyncSession, event: CloudEvent) -> None:
    """Contract item 2: keep each transaction's procedural record (PRC-9) for the cases that cite it."""
    parsed = records.parse_record_event(event.data)
    if parsed is None:
        # A malformed payload can never succeed; retrying it forever would block nothing but waste work.
        log.error("pricing.record.appended %s is malformed; ignored", event.id)
        return
    transaction_id, unit_id, achievement_id, step = parsed
    await records.record_pricing_step(session, transaction_id=transaction_id, unit_id=unit_id, step=step,
                                      achievement_id=achievement_id)


async def on_empowerment_granted(session: AsyncSession, event: CloudEvent) -> None:
    """EXE-13 / G5.4: remember which achievements were empowered, for the readiness of their transfers."""
    data = event.data
    try:
        achievement_id, unit_id = str(data["achievement_id"]), str(data["unit_id"])
        empowerment_id, kind = str(data["empowerment_id"]), str(data.get("type", ""))
    except (KeyError, TypeError):
        log.error("ownership.empowerment.granted %s is malformed; ignored", event.id)
        return
    await records.record_empowerment(session, achievement_id=achievement_id, unit_id=unit_id,
                                     empowerment_id=empowerment_id, kind=kind)


CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(name="pricing-record", event_types=("pricing.record.appended",), handler=on_record_appended),
    ConsumerSpec(name="empowerments", event_types=("ownership.empowerment.granted",), handler=on_empowerment_granted),
]
