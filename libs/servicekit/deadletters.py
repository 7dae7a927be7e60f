"""Dead letters: events a consumer could not apply, kept on their own stream for operators.

Each dead letter is one message on the stream `KEZHUAN_DLQ`, subject
`kezhuan-dlq.<service>.<durable>`; its id is its sequence on that stream. Redrive (the operator
API in `servicekit.app`) applies the original event through the same consumer path and inbox (so
it takes effect exactly once), then deletes the dead letter.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from servicekit.errors import NotFound, UpstreamUnavailable
from servicekit.natsio import DLQ_PREFIX, DLQ_STREAM


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
