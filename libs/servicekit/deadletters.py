"""Dead letters: events a consumer failed on `max_deliver` times, kept on their own stream for operators.

Each dead letter is one message on the stream `KEZHUAN_DLQ`, subject
`kezhuan-dlq.<service>.<durable>`; its id is its sequence on that stream. Redrive applies the
original event through the same consumer path and inbox (so it takes effect exactly once), then
deletes the dead letter.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Query
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from pydantic import BaseModel, ValidationError

from contracts.envelope import CloudEvent
from servicekit.auth import require_role
from servicekit.errors import InvalidState, NotFound, UpstreamUnavailable
from servicekit.web import Ctx, service_router

if TYPE_CHECKING:
    from servicekit.consumers import ConsumerRunner

DLQ_STREAM = "KEZHUAN_DLQ"
DLQ_PREFIX = "kezhuan-dlq."


def dlq_stream_config(replicas: int = 1) -> StreamConfig:
    """The dead-letter stream: file storage, kept until an operator redrives or deletes."""
    return StreamConfig(
        name=DLQ_STREAM,
        subjects=[f"{DLQ_PREFIX}>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        num_replicas=replicas,
    )


def dead_letter_subject(service: str, durable: str) -> str:
    """`kezhuan-dlq.<service>.<durable>`."""
    return f"{DLQ_PREFIX}{service}.{durable}"


async def publish_dead_letter(
    js: JetStreamContext,
    *,
    service: str,
    durable: str,
    envelope: bytes,
    event_id: str,
    event_type: str,
    reason: str,
    deliveries: int,
    at: datetime,
) -> None:
    """Put a failed event on the dead-letter stream (de-duplicated per consumer and event).

    `envelope` is the message as received: kept as JSON when it is a JSON object, else as `raw` text.
    """
    body: dict[str, Any] = {
        "service": service,
        "consumer": durable,
        "event_id": event_id,
        "event_type": event_type,
        "reason": reason[:2000],
        "deliveries": deliveries,
        "dead_lettered_at": at.isoformat(),
        **_received(envelope),
    }
    await js.publish(
        dead_letter_subject(service, durable),
        orjson.dumps(body),
        stream=DLQ_STREAM,
        headers={"Nats-Msg-Id": f"{durable}:{event_id}"},
        timeout=5,
    )


def unreadable_message_id(message: Any) -> str:
    """The id to file a message that is no CloudEvent under: its Nats-Msg-Id, else its stream sequence."""
    headers = message.headers or {}
    if headers.get("Nats-Msg-Id"):
        return str(headers["Nats-Msg-Id"])
    sequence = getattr(getattr(message.metadata, "sequence", None), "stream", None)
    return f"stream-seq-{sequence}"


def _received(envelope: bytes) -> dict[str, Any]:
    """`{"envelope": {...}}` for a JSON object, else `{"envelope": None, "raw": text}` (a message that is no event)."""
    try:
        parsed = orjson.loads(envelope)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return {"envelope": parsed}
    return {"envelope": None, "raw": envelope.decode("utf-8", "replace")[:10_000]}


class DeadLetter(BaseModel):
    """One dead letter as operators see it."""

    id: int
    service: str
    consumer: str
    event_id: str
    event_type: str
    reason: str
    deliveries: int
    dead_lettered_at: datetime
    envelope: dict[str, Any] | None
    """The original CloudEvent (or whatever JSON object arrived); None when the message was not JSON."""
    raw: str | None = None
    """The message as text when it was not a JSON object."""


class DeadLetterPage(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None


class Redriven(BaseModel):
    """`applied` is false when the consumer's inbox shows the event was applied already."""

    id: int
    consumer: str
    event_id: str
    applied: bool


class DeadLetters:
    """A service's view of its own dead letters."""

    def __init__(self, service: str, link: Any) -> None:
        self.service = service
        self._link = link

    def _js(self) -> JetStreamContext:
        js = self._link.jetstream()
        if js is None:
            raise UpstreamUnavailable("NATS is not reachable; dead letters cannot be read now")
        return js

    @property
    def _filter(self) -> str:
        return f"{DLQ_PREFIX}{self.service}.>"

    async def count(self) -> int:
        """How many dead letters this service has."""
        info = await self._js().stream_info(DLQ_STREAM, subjects_filter=self._filter)
        return sum((info.state.subjects or {}).values())

    async def page(self, after: int, limit: int) -> tuple[list[DeadLetter], int | None]:
        """Up to `limit` dead letters with ids above `after`, and the cursor for the next page."""
        js = self._js()
        items: list[DeadLetter] = []
        seq = after + 1
        while len(items) < limit:
            try:
                raw = await js.get_msg(DLQ_STREAM, seq=seq, subject=self._filter, next=True)
            except NotFoundError:
                return items, None
            items.append(_decode(raw))
            seq = items[-1].id + 1
        return items, items[-1].id

    async def get(self, dead_letter_id: int) -> DeadLetter:
        """One dead letter of this service; NotFound for other services' and unknown ids."""
        if dead_letter_id < 1:  # stream sequences start at 1; JetStream answers 0 or less with a bad request
            raise NotFound("no such dead letter")
        try:
            raw = await self._js().get_msg(DLQ_STREAM, seq=dead_letter_id)
        except NotFoundError as exc:
            raise NotFound("no such dead letter") from exc
        if not (raw.subject or "").startswith(f"{DLQ_PREFIX}{self.service}."):
            raise NotFound("no such dead letter")
        return _decode(raw)

    async def remove(self, dead_letter_id: int) -> None:
        """Delete a dead letter (a concurrent redrive may have deleted it already)."""
        try:
            await self._js().delete_msg(DLQ_STREAM, dead_letter_id)
        except NotFoundError:
            pass


def _decode(raw: Any) -> DeadLetter:
    return DeadLetter(id=raw.seq, **orjson.loads(raw.data))


def dead_letter_router() -> APIRouter:
    """Admin API (platform_admin only): list, inspect and redrive this service's dead letters."""
    router = service_router(prefix="/api/v1/dead-letters", tags=["operations"])

    @router.get("", response_model=DeadLetterPage)
    async def list_dead_letters(
        ctx: Ctx, limit: int = Query(50, ge=1, le=200), cursor: str | None = None
    ) -> Any:
        """This service's dead letters, oldest first."""
        require_role(ctx.user, "platform_admin")
        after = int(cursor) if cursor and cursor.isdigit() else 0
        items, next_cursor = await ctx.runtime.dead_letters.page(after, limit)
        return DeadLetterPage(items=items, next_cursor=str(next_cursor) if next_cursor is not None else None)

    @router.get("/{dead_letter_id}", response_model=DeadLetter)
    async def show_dead_letter(ctx: Ctx, dead_letter_id: int) -> Any:
        """One dead letter with its failure reason and the original envelope."""
        require_role(ctx.user, "platform_admin")
        return await ctx.runtime.dead_letters.get(dead_letter_id)

    @router.post("/{dead_letter_id}/redrive", response_model=Redriven)
    async def redrive_dead_letter(ctx: Ctx, dead_letter_id: int) -> Any:
        """Apply the event again through its consumer (exactly once, by the inbox), then delete it."""
        require_role(ctx.user, "platform_admin")
        runtime = ctx.runtime
        letter = await runtime.dead_letters.get(dead_letter_id)
        runner: ConsumerRunner | None = next((c for c in runtime.consumers if c.durable == letter.consumer), None)
        if runner is None:
            raise InvalidState("this service no longer has the consumer {consumer}", consumer=letter.consumer)
        try:
            event = CloudEvent.model_validate(letter.envelope)
        except ValidationError as exc:
            raise InvalidState("the dead letter is not a CloudEvent; it can never be applied") from exc
        try:
            applied = await runner.apply(event)
        except Exception as exc:
            reason = type(exc).__name__ + ": " + str(exc)
            raise InvalidState("the consumer failed again: {reason}", reason=reason) from exc
        await runtime.dead_letters.remove(dead_letter_id)
        return Redriven(id=dead_letter_id, consumer=letter.consumer, event_id=letter.event_id, applied=applied)

    return router
