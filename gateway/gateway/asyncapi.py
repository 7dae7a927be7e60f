"""The event catalogue as an AsyncAPI 3.0.0 document, generated from the pydantic payload models.

Every event type has a `send` operation (its service publishes it); every consumer of every service
a `receive` operation per event type it handles, from the declarations the services serve at
`/internal/consumers` (their ConsumerSpecs), so the document says who consumes what.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.envelope import STREAM, CloudEvent, subject_for

log = logging.getLogger("kezhuan.gateway.asyncapi")

_SCHEMAS = "#/components/schemas/"

Declarations = Mapping[str, Sequence[Mapping[str, Any]]]
"""Per service, its consumers as `/internal/consumers` lists them: `{durable, handles: [{event_type, model, summary}]}`."""


def _server(nats_url: str) -> dict[str, Any]:
    """The NATS server entry; only host and port, so credentials in the URL never leak."""
    first = nats_url.split(",")[0].strip()
    parts = urlsplit(first if "://" in first else f"nats://{first}")
    host = parts.hostname or "127.0.0.1"
    return {
        "host": f"{host}:{parts.port or 4222}",
        "protocol": "nats",
        "description": f"NATS with JetStream; every event is stored in the stream `{STREAM}`.",
    }


def _summary(model: type[BaseModel]) -> str | None:
    doc = model.__doc__
    return doc.strip().splitlines()[0] if doc else None


def build_asyncapi(
    catalogue: Mapping[str, type[BaseModel]],
    *,
    nats_url: str,
    version: str = "0.1.0",
    consumers: Declarations | None = None,
) -> dict[str, Any]:
    """One channel, message and `send` operation per event type, a `receive` operation per consumer
    and event type it handles; payload schemas under components."""
    models = list(dict.fromkeys(catalogue.values()))
    # One pass over all models, so shared nested models land once in components/schemas and
    # pydantic itself disambiguates any two models that share a class name.
    refs, definitions = models_json_schema(
        [(model, "serialization") for model in [*models, CloudEvent]],
        ref_template=_SCHEMAS + "{model}",
    )
    envelope_ref = refs[(CloudEvent, "serialization")]
    schemas = dict(sorted(definitions.get("$defs", {}).items()))

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type in sorted(catalogue):
        model = catalogue[event_type]
        message: dict[str, Any] = {
            "name": model.__name__,
            "title": event_type,
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {
                        "type": "string",
                        "description": "equals the envelope's `id`; JetStream de-duplicates on it",
                    }
                },
                "required": ["Nats-Msg-Id"],
            },
            "payload": {
                "allOf": [
                    envelope_ref,
                    {
                        "type": "object",
                        "properties": {"type": {"const": event_type}, "data": refs[(model, "serialization")]},
                        "required": ["type", "data"],
                    },
                ]
            },
        }
        summary = _summary(model)
        if summary:
            message["summary"] = summary
        messages[event_type] = message
        channels[event_type] = {
            "address": subject_for(event_type),
            "title": event_type,
            "messages": {event_type: {"$ref": f"#/components/messages/{event_type}"}},
        }
        operations[f"{event_type}.send"] = {
            "action": "send",
            "title": f"Publish {event_type}",
            "summary": "Published once its state change has committed (transactional outbox), at least once.",
            "channel": {"$ref": f"#/channels/{event_type}"},
            "messages": [{"$ref": f"#/channels/{event_type}/messages/{event_type}"}],
        }

    for service in sorted(consumers or {}):
        for consumer in (consumers or {})[service]:
            for handled in consumer["handles"]:
                event_type = handled["event_type"]
                if event_type not in catalogue:
                    continue
                model = handled["model"]
                summary = handled.get("summary") or f"{service} applies {event_type} exactly once."
                stricter = "" if model == catalogue[event_type].__name__ else f" Parsed as {model}, stricter than the catalogue."
                operations[f"{consumer['durable']}.{event_type}.receive"] = {
                    "action": "receive",
                    "title": f"{service} consumes {event_type} ({consumer['durable']})",
                    "summary": summary,
                    "description": (
                        f"Durable consumer `{consumer['durable']}` of the `{service}` service. A payload that does not "
                        f"parse is dead-lettered at once.{stricter}"
                    ),
                    "channel": {"$ref": f"#/channels/{event_type}"},
                    "messages": [{"$ref": f"#/channels/{event_type}/messages/{event_type}"}],
                }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Kezhuan events",
            "version": version,
            "description": (
                f"Domain events of the Kezhuan services on the JetStream stream `{STREAM}`. Each message is a "
                "CloudEvents 1.0 structured-JSON envelope whose `type` is the subject without the `kezhuan.` "
                "prefix, `subject` is the aggregate id and `requestid` the causing request's X-Request-ID. "
                "Delivery is at least once, de-duplicated by `id`; subscribers create their own durable "
                "consumers with a subject filter."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"nats": _server(nats_url)},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


Fetch = Callable[[str], Awaitable[list[dict[str, Any]] | None]]
"""A service's consumer declarations, or None while it cannot be asked."""


class AsyncApiCache:
    """The document with every service's consumers, rebuilt only while some service has not answered yet."""

    def __init__(self, services: list[str], fetch: Fetch, build: Callable[[Declarations], dict[str, Any]]) -> None:
        self._services = services
        self._fetch = fetch
        self._build = build
        self._declarations: dict[str, list[dict[str, Any]]] = {}
        self._body: bytes | None = None
        self._lock = asyncio.Lock()

    @property
    def complete(self) -> bool:
        """True once every service's consumers are in."""
        return len(self._declarations) == len(self._services)

    async def document(self) -> bytes:
        """The document as JSON; services that were down are asked again (the catalogue is there regardless)."""
        if self._body is not None and self.complete:
            return self._body
        async with self._lock:
            if self._body is None or not self.complete:
                wanted = [s for s in self._services if s not in self._declarations]
                fetched = await asyncio.gather(*(self._fetch(s) for s in wanted))
                self._declarations.update({s: d for s, d in zip(wanted, fetched, strict=True) if d is not None})
                missing = [s for s in self._services if s not in self._declarations]
                if missing:
                    log.warning("AsyncAPI without the consumers of %s (not reachable yet)", ", ".join(missing))
                self._body = orjson.dumps(self._build(self._declarations))
            return self._body
