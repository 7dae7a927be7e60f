"""Pure parts of the gateway: the route table, the token cache, the metrics."""
from __future__ import annotations

import uuid
from datetime import timedelta

from gateway.metrics import GatewayMetrics
from gateway.proxy import new_request_id
from gateway.routes import ROUTES, has_dot_segment, service_for
from gateway.tokens import TokenCache
from servicekit.auth import mint_token
from servicekit.settings import SERVICES

SECRET = "unit-test-secret-unit-test-secret"


def test_every_service_owns_a_prefix_and_nothing_else_is_routed() -> None:
    assert set(ROUTES.values()) == set(SERVICES)
    assert service_for("/api/v1/units") == "ownership"
    assert service_for("/api/v1/units/u1/pool/publications/3") == "ownership"
    assert service_for("/api/v1/unit") is None
    assert service_for("/internal/test-clock") is None


def test_dot_segments_are_recognised() -> None:
    assert has_dot_segment("/api/v1/units/../x")
    assert has_dot_segment("/api/v1/units/.")
    assert not has_dot_segment("/api/v1/units/.well-known/a..b")


def test_the_token_cache_is_bounded() -> None:
    cache = TokenCache(SECRET, max_entries=2)
    for sub in ("a", "b", "c"):
        assert cache.check(f"Bearer {mint_token(SECRET, sub=sub, roles=[])}") is None
    assert len(cache) == 2


def test_a_cached_token_is_verified_again_after_max_age() -> None:
    now = [1_000.0]
    cache = TokenCache(SECRET, max_age=10.0, clock=lambda: now[0])
    token = mint_token(SECRET, sub="a", roles=[], ttl=timedelta(hours=1))
    assert cache.check(f"Bearer {token}") is None
    now[0] += 11.0
    assert cache.check(f"bearer {token}") is None  # the scheme is case-insensitive
    assert len(cache) == 1


def test_a_refused_token_is_not_cached() -> None:
    cache = TokenCache(SECRET)
    assert cache.check(f"Bearer {mint_token('other-secret-other-secret-other-x', sub='a', roles=[])}")
    assert len(cache) == 0


def test_metrics_render_counts_and_a_histogram() -> None:
    metrics = GatewayMetrics()
    metrics.observe("pricing", "GET", 200, 0.003)
    metrics.observe("pricing", "GET", 200, 0.2)
    metrics.observe("pricing", "BREW", 404, 0.001)
    text = metrics.render().decode()
    assert 'kezhuan_gateway_requests_total{method="GET",service="pricing",status="200"} 2.0' in text
    assert 'kezhuan_gateway_requests_total{method="OTHER",service="pricing",status="404"} 1.0' in text
    assert 'kezhuan_gateway_request_duration_seconds_bucket{le="0.005",service="pricing"} 2.0' in text
    assert 'kezhuan_gateway_request_duration_seconds_count{service="pricing"} 3.0' in text


def test_generated_request_ids_are_uuid4_hex() -> None:
    for _ in range(200):
        value = new_request_id()
        parsed = uuid.UUID(value)
        assert parsed.hex == value and parsed.version == 4 and parsed.variant == uuid.RFC_4122
