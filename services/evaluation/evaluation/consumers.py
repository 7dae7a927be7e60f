"""Evaluation's one durable consumer: every event type of the catalogue (EVA-2), idempotent through the inbox."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import CloudEvent
from contracts.events import CATALOGUE, EventPayload
from evaluation import service
from servicekit.consumers import ConsumerSpec, Handles


async def on_event(session: AsyncSession, payload: EventPayload, event: CloudEvent) -> None:
    """EVA-2: the read model learns only from published events, each recorded once in every live generation."""
    await service.apply_event(
        session, event_type=event.type, event_id=event.id, at=event.time, data=payload.model_dump(mode="json")
    )


CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(name="indicators", handles={event_type: Handles(model, on_event) for event_type, model in CATALOGUE.items()}),
]
