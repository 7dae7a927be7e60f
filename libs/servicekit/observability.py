"""JSON logs with request and trace ids, W3C trace context, and per-route request metrics.

Every log line is one JSON object: `ts`, `level`, `logger`, `msg`, `service`, and — where known —
`request_id`, `trace_id`, `span_id` and `unit` from the context variables the middleware and the
consumers set. The gateway starts a trace (W3C `traceparent`) when the caller sent none; services
continue it, store it in the outbox envelope, and consumers restore it.
"""
from __future__ import annotations

import logging
import sys
import time
from bisect import bisect_left
from collections.abc import Iterator
from time import perf_counter
from typing import Any

import orjson
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from servicekit import tracing
from servicekit.context import log_fields_var, request_id_var, traceparent_var
from servicekit.tracecontext import continue_trace

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request's ids taken from the context."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.converter = time.gmtime
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self.service,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        traceparent = traceparent_var.get()
        if traceparent:
            entry["trace_id"] = traceparent[3:35]
            entry["span_id"] = traceparent[36:52]
        fields = log_fields_var.get()
        if fields:
            entry.update(fields)
        extra = getattr(record, "fields", None)
        if extra:
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()




def configure_logging(service: str, level: str = "info") -> None:
    """Send every logger (uvicorn's too) to stderr as JSON lines tagged with `service`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, JsonFormatter) or type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


class _Latency:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0


class RequestMetrics:
    """Requests by route template, method and status, and latency by route (plain ints until scraped)."""

    def __init__(self, prefix: str = "kezhuan_http") -> None:
        self.prefix = prefix
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[str, _Latency] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        if method not in _METHODS:
            method = "OTHER"
        key = (route, method, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = _Latency()
        latency.counts[bisect_left(BUCKETS, seconds)] += 1
        latency.total += seconds

    def collect(self) -> Iterator[Metric]:
        """prometheus_client collector protocol."""
        requests = CounterMetricFamily(
            f"{self.prefix}_requests", "HTTP requests answered", labels=["route", "method", "status"]
        )
        for (route, method, status), count in sorted(self._requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            f"{self.prefix}_request_duration_seconds", "time from request to response end", labels=["route"]
        )
        for route, hist in sorted(self._latency.items()):
            cumulative = 0
            buckets = []
            for bound, count in zip((*BUCKETS, float("inf")), hist.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric([route], buckets, sum_value=hist.total)
        yield latency


access_log = logging.getLogger("kezhuan.access")


class ObservabilityMiddleware:
    """Pure ASGI, inside RequestIdMiddleware: continue the caller's trace, count by route, log one line."""

    def __init__(self, app: Any, metrics: RequestMetrics, log_requests: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        tracer = tracing.TRACER
        if tracer is None:
            span = None
            trace_token = traceparent_var.set(continue_trace(traceparent_var.get()))
        else:
            span = tracing.start_span(tracer, scope["method"], traceparent_var.get(), tracing.SpanKind.SERVER)
            trace_token = traceparent_var.set(tracing.traceparent_of(span))
        fields_token = log_fields_var.set({})
        status = 500

        async def observing_send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observing_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = perf_counter() - started
            self.metrics.observe(template, scope["method"], status, elapsed)
            if self.log_requests and access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"fields": {"route": template, "status": status, "duration_ms": round(elapsed * 1000, 2)}},
                )
            if span is not None:
                span.update_name(f"{scope['method']} {template}")
                span.set_attribute("http.request.method", scope["method"])
                span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                span.end()
            traceparent_var.reset(trace_token)
            log_fields_var.reset(fields_token)
