"""Evaluation's one durable consumer: every event of the KEZHUAN stream (EVA-2), idempotent through the inbox."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import CATALOGUE
from evaluation import service
from servicekit.consumers import ConsumerSpec


async def on_event(session: AsyncSession, event: CloudEvent) -> None:
    """EVA-2: the read model learns only from published events; a payload the contract refuses raises (dead letter)."""
    data = CATALOGUE[event.type].model_validate(event.data).model_dump(mode="json")
    await service.apply_event(session, event_type=event.type, event_id=event.id, at=event.time, data=data)


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(name="indicators", event_types=tuple(CATALOGUE), handler=on_event),
]
