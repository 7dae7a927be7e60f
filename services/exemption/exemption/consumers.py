"""Exemption's event handlers (idempotent through the inbox)."""
from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from exemption import service
from exemption.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec
from servicekit.units import unit_policy_consumer

log = logging.getLogger("kezhuan.exemption.consumers")


async def on_record_appended(session: AsyncSession, event: CloudEvent) -> None:
    """Contract item 2: keep each transaction's procedural record (PRC-9) for the cases that cite it."""
    parsed = service.parse_record_event(event.data)
    if parsed is None:
        # A malformed payload can never succeed; retrying it forever would block nothing but waste work.
        log.error("pricing.record.appended %s is malformed; ignored", event.id)
        return
    transaction_id, unit_id, step = parsed
    await service.record_pricing_step(session, transaction_id=transaction_id, unit_id=unit_id, step=step)


CONSUMERS: list[ConsumerSpec] = [
    unit_policy_consumer(UNIT_POLICIES),
    ConsumerSpec(name="pricing-record", event_types=("pricing.record.appended",), handler=on_record_appended),
]
