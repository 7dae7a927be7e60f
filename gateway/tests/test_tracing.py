"""With tracing on, the gateway's request is a span in the caller's trace and the service's parent."""
from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from servicekit import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the gateway in this process, into memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()


async def test_the_forwarded_traceparent_names_the_gateways_span_in_the_callers_trace(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    trace_id, caller_span = os.urandom(16).hex(), os.urandom(8).hex()
    response = await client.get("/api/v1/notices", headers={"traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert response.status_code == 200
    forwarded = {name.lower(): value for name, value in response.json()["headers"]}["traceparent"]
    [span] = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    assert span.kind == SpanKind.SERVER
    assert span.name == "GET /api/v1/notices"
    assert span.parent is not None and f"{span.parent.span_id:016x}" == caller_span
    assert span.attributes["http.response.status_code"] == 200
    assert forwarded == f"00-{trace_id}-{span.context.span_id:016x}-01"


async def test_a_request_the_gateway_refuses_still_ends_its_span(
    client: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    trace_id = os.urandom(16).hex()
    response = await client.get("/api/v1/nowhere", headers={"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"})
    assert response.status_code == 404
    [span] = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id]
    assert span.attributes["http.response.status_code"] == 404
