"""Request counters and a latency histogram kept as plain ints, rendered only when scraped.

prometheus_client's labelled metrics take a lock and a label lookup per observation; on the
proxy path a dict increment and a bisect are all we can afford.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _Latency:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last slot is +Inf
        self.total = 0.0


class GatewayMetrics:
    """Requests by service, method and status, and latency by service."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[str, _Latency] = {}
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def observe(self, service: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        if method not in _METHODS:
            method = "OTHER"  # arbitrary method tokens must not create label values
        key = (service, method, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        latency = self._latency.get(service)
        if latency is None:
            latency = self._latency[service] = _Latency()
        latency.counts[bisect_left(BUCKETS, seconds)] += 1
        latency.total += seconds

    def collect(self) -> Iterator[Metric]:
        """prometheus_client collector protocol."""
        requests = CounterMetricFamily(
            "kezhuan_gateway_requests", "requests answered by the gateway", labels=["service", "method", "status"]
        )
        for (service, method, status), count in sorted(self._requests.items()):
            requests.add_metric([service, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "kezhuan_gateway_request_duration_seconds", "time from request to response end", labels=["service"]
        )
        for service, hist in sorted(self._latency.items()):
            cumulative = 0
            buckets = []
            for bound, count in zip((*BUCKETS, float("inf")), hist.counts, strict=True):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
            latency.add_metric([service], buckets, sum_value=hist.total)
        yield latency

    def render(self) -> bytes:
        """Prometheus text exposition."""
        return generate_latest(self.registry)
