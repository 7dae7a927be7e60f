"""OpenTelemetry: one request's spans — service request, outbox publish, consumers elsewhere — form one trace."""
from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import nats
import orjson
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from contracts.envelope import CloudEvent, subject_for
from servicekit import tracing
from servicekit.clock import real_now
from servicekit.testing import InProcessSystem, eventually

UNIT_REGISTERED = "kezhuan.ownership.unit.registered"
OTHER_SERVICES = ("pricing", "exemption", "finance")
"""The services whose consumers receive ownership.unit.registered."""


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the in-process system, into memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = os.urandom(16).hex(), os.urandom(8).hex()
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def _in_trace(exporter: InMemorySpanExporter, trace_id: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]


def _register_body() -> dict[str, str]:
    return {"name": f"沈阳工业大学-{uuid.uuid4().hex[:6]}", "type": "university"}


async def test_a_request_its_outbox_publish_and_other_services_consumers_share_one_trace(
    system: InProcessSystem, spans: InMemorySpanExporter
) -> None:
    traceparent, trace_id, caller_span = _traceparent()
    response = await system.clients["ownership"].post(
        "/api/v1/units", json=_register_body(), headers={**system.auth("platform_admin"), "traceparent": traceparent}
    )
    assert response.status_code == 201, response.text

    async def consumed_everywhere() -> list[ReadableSpan] | None:
        consumers = [s for s in _in_trace(spans, trace_id) if s.kind == SpanKind.CONSUMER]
        groups = {str((s.attributes or {})["messaging.consumer.group.name"]).split("-")[0] for s in consumers}
        return consumers if groups >= set(OTHER_SERVICES) else None

    consumers = await eventually(consumed_everywhere, timeout=10)
    trace = _in_trace(spans, trace_id)
    [request] = [s for s in trace if s.kind == SpanKind.SERVER]
    [publish] = [s for s in trace if s.kind == SpanKind.PRODUCER]
    assert request.name == "POST /api/v1/units"
    assert request.attributes is not None and request.attributes["http.response.status_code"] == 201
    assert request.parent is not None and f"{request.parent.span_id:016x}" == caller_span
    assert publish.name == f"publish {UNIT_REGISTERED}"
    assert publish.parent is not None and publish.parent.span_id == request.context.span_id
    for consumer in consumers:
        assert consumer.name == "process ownership.unit.registered"
        assert consumer.parent is not None and consumer.parent.span_id == publish.context.span_id
        assert consumer.attributes is not None and publish.attributes is not None
        assert consumer.attributes["messaging.message.id"] == publish.attributes["messaging.message.id"]


async def test_the_published_message_carries_the_events_traceparent_as_a_nats_header(
    system: InProcessSystem, nats_url: str
) -> None:
    connection = await nats.connect(nats_url)
    received: asyncio.Queue = asyncio.Queue()
    subscription = await connection.subscribe(UNIT_REGISTERED, cb=received.put)
    await connection.flush()  # the server knows the subscription before anything is published
    traceparent, trace_id, caller_span = _traceparent()
    try:
        response = await system.clients["ownership"].post(
            "/api/v1/units", json=_register_body(), headers={**system.auth("platform_admin"), "traceparent": traceparent}
        )
        assert response.status_code == 201, response.text
        unit_id = response.json()["id"]
        while True:
            message = await asyncio.wait_for(received.get(), timeout=10)
            event = orjson.loads(message.data)
            if event["subject"] == unit_id:
                break
    finally:
        await subscription.unsubscribe()
        await connection.close()
    assert message.headers["Nats-Msg-Id"] == event["id"]
    assert message.headers["traceparent"] == event["traceparent"]
    assert event["traceparent"][3:35] == trace_id, "the service continued the caller's trace"
    assert event["traceparent"][36:52] != caller_span, "as a span of its own"


async def test_consumers_follow_the_nats_header_over_the_envelope_field(
    system: InProcessSystem, nats_url: str, spans: InMemorySpanExporter
) -> None:
    in_envelope, envelope_trace, _ = _traceparent()
    in_header, header_trace, header_span = _traceparent()
    unit_id = f"trace-{uuid.uuid4().hex[:8]}"
    event = CloudEvent(
        id=uuid.uuid4().hex,
        source="/kezhuan/ownership",
        type="ownership.unit.registered",
        time=real_now(),
        subject=unit_id,
        traceparent=in_envelope,
        data={
            "unit_id": unit_id,
            "name": unit_id,
            "type": "university",
            "policy": {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90},
            "version": 1,
        },
    )
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().publish(
            subject_for(event.type),
            orjson.dumps(event.model_dump(mode="json", exclude_none=True)),
            headers={"Nats-Msg-Id": event.id, "traceparent": in_header},
        )
    finally:
        await connection.close()

    async def consumed_everywhere() -> list[ReadableSpan] | None:
        consumers = [s for s in _in_trace(spans, header_trace) if s.kind == SpanKind.CONSUMER]
        return consumers if len(consumers) >= len(OTHER_SERVICES) else None

    consumers = await eventually(consumed_everywhere, timeout=10)
    assert all(c.parent is not None and f"{c.parent.span_id:016x}" == header_span for c in consumers)
    assert _in_trace(spans, envelope_trace) == []
