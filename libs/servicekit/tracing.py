"""OpenTelemetry spans for the gateway request, the service request, the outbox publish and the consumer.

Off by default (KEZHUAN_OTEL_EXPORTER=none): `TRACER` stays None and every call site takes its
old path, so the hot path creates no span objects. When on, each hop starts a real span whose
parent is the W3C `traceparent` that already flows (HTTP header, outbox envelope, NATS header)
and puts the span's own traceparent in `traceparent_var`, so the JSON logs carry real span ids.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags

from servicekit.tracecontext import trace_id_of

log = logging.getLogger("kezhuan.tracing")

TRACER: trace.Tracer | None = None
"""The process's tracer while tracing is on; None (the default) means no spans at all."""
_PROVIDER: TracerProvider | None = None

__all__ = ["TRACER", "SpanKind", "configure_tracing", "install", "uninstall", "start_span", "traceparent_of"]


def configure_tracing(service: str, exporter: str) -> None:
    """Turn tracing on for this process with the named exporter (`none` leaves it as it is)."""
    if exporter == "none":
        return
    span_exporter: SpanExporter
    if exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # One span per line on stdout (the JSON logs go to stderr).
        span_exporter = ConsoleSpanExporter(out=sys.stdout, formatter=lambda span: span.to_json(indent=None) + "\n")
        processor: Any = SimpleSpanProcessor(span_exporter)
    elif exporter == "otlp":
        # OTLP over HTTP/protobuf; endpoint and headers from the standard OTEL_EXPORTER_OTLP_* variables.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        raise ValueError(f"unknown trace exporter {exporter!r}: use none, console or otlp")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(processor)
    install(provider, service)


def install(provider: TracerProvider, scope: str = "kezhuan") -> None:
    """Trace with this provider from now on (tests install one with an in-memory exporter)."""
    global TRACER, _PROVIDER
    _PROVIDER = provider
    TRACER = provider.get_tracer(scope)


def uninstall() -> None:
    """Stop tracing: flush what the provider holds and go back to no spans."""
    global TRACER, _PROVIDER
    if _PROVIDER is not None:
        _PROVIDER.force_flush()
    TRACER = None
    _PROVIDER = None


def _parent(traceparent: str | None) -> Any:
    """The OpenTelemetry context of a remote parent given as a W3C traceparent; None starts a new trace."""
    trace_id = trace_id_of(traceparent)
    if trace_id is None:
        return None
    assert traceparent is not None
    remote = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(traceparent[36:52], 16),
        is_remote=True,
        trace_flags=TraceFlags(int(traceparent[53:], 16) & 1),
    )
    return trace.set_span_in_context(NonRecordingSpan(remote))


def start_span(
    tracer: trace.Tracer, name: str, parent: str | None, kind: SpanKind, attributes: dict[str, Any] | None = None
) -> Span:
    """A started span, child of the span named by the `parent` traceparent; the caller ends it."""
    return tracer.start_span(name, context=_parent(parent), kind=kind, attributes=attributes)


def traceparent_of(span: Span) -> str:
    """The W3C traceparent that makes the next hop a child of `span`."""
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
