"""The event catalogue as an AsyncAPI 3.0.0 document, generated from the pydantic payload models."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from contracts.envelope import STREAM, CloudEvent, subject_for

_SCHEMAS = "#/components/schemas/"


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
    catalogue: Mapping[str, type[BaseModel]], *, nats_url: str, version: str = "0.1.0"
) -> dict[str, Any]:
    """One channel, message and `send` operation per event type; payload schemas under components."""
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
