"""Hostile input at the edge and at the services: forged tokens, huge bodies, request floods."""
from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import jwt
import orjson
import pytest
import pytest_asyncio

from gateway.app import create_app as create_gateway
from kezhuan.embedded_nats import free_port
from servicekit.clock import real_now
from servicekit.settings import DEV_JWT_SECRET, KezhuanSettings
from servicekit.testing import InProcessSystem


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides: object) -> dict:
    claims = {"sub": "hostile", "roles": ["platform_admin"], "exp": real_now() + timedelta(minutes=5)}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


HOSTILE_TOKENS = {
    "expired": jwt.encode(_claims(exp=real_now() - timedelta(seconds=5)), DEV_JWT_SECRET, algorithm="HS256"),
    "badly signed": jwt.encode(_claims(), "not-the-secret-" * 3, algorithm="HS256"),
    "alg none": _b64(b'{"alg":"none","typ":"JWT"}') + "." + _b64(orjson.dumps(_claims(), default=lambda d: int(d.timestamp()))) + ".",
    "HS512 instead of HS256": jwt.encode(_claims(), DEV_JWT_SECRET, algorithm="HS512"),
    "no exp": jwt.encode(_claims(exp=None), DEV_JWT_SECRET, algorithm="HS256"),
    "no sub": jwt.encode(_claims(sub=None), DEV_JWT_SECRET, algorithm="HS256"),
    "roles not a list": jwt.encode(_claims(roles="platform_admin"), DEV_JWT_SECRET, algorithm="HS256"),
    "garbage": "not.a.jwt",
}

# An authenticated read and a public read: a token that is sent must be valid on both.
PROBES = {"ownership": "/api/v1/achievements?unit_id=u-1", "pricing": "/api/v1/notices"}


@pytest_asyncio.fixture
async def edge() -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose services are unreachable: whatever it lets through answers 502, refusals are its own."""
    dead = f"http://127.0.0.1:{free_port()}"
    settings = KezhuanSettings(
        env="test", rate_limit_per_minute=5,
        ownership_url=dead, pricing_url=dead, exemption_url=dead, finance_url=dead,
    )
    gateway = create_gateway(settings, connect_timeout=0.5, upstream_timeout=2.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gateway") as client:
        yield client
    await gateway.upstreams.close()


def _assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("kind", sorted(HOSTILE_TOKENS))
async def test_a_hostile_token_is_refused_by_every_service_and_the_gateway(
    kind: str, system: InProcessSystem, edge: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {HOSTILE_TOKENS[kind]}"}
    for service, path in PROBES.items():
        _assert_problem(await system.clients[service].get(path, headers=headers), 401)
        _assert_problem(await edge.get(path, headers=headers), 401)


async def test_a_body_over_1_mib_is_a_413_at_the_gateway_and_at_the_service(
    system: InProcessSystem, edge: httpx.AsyncClient
) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'", "type": "university"}'
    headers = {**system.auth("platform_admin"), "Content-Type": "application/json"}
    _assert_problem(await system.clients["ownership"].post("/api/v1/units", content=body, headers=headers), 413)
    _assert_problem(await edge.post("/api/v1/units", content=body, headers=headers), 413)


async def test_a_client_over_its_rate_gets_a_clear_429_on_public_and_authenticated_endpoints(
    system: InProcessSystem, edge: httpx.AsyncClient
) -> None:
    flooding = system.auth("enterprise", sub="flooding-enterprise")
    for _ in range(5):  # the allowance passes on (to services that are down here: 502)
        assert (await edge.get("/api/v1/challenges", headers=flooding)).status_code == 502
    refused = await edge.post("/api/v1/challenges", json={}, headers=flooding)
    body = _assert_problem(refused, 429)
    assert "Retry-After" in body["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["x-request-id"]

    # Another caller is not affected by this one's flood, and anonymous callers count by address.
    assert (await edge.get("/api/v1/challenges", headers=system.auth("enterprise", sub="quiet"))).status_code == 502
    for _ in range(5):
        assert (await edge.get("/api/v1/notices")).status_code == 502
    anonymous = await edge.get("/api/v1/notices")
    _assert_problem(anonymous, 429)
    assert int(anonymous.headers["Retry-After"]) >= 1


def test_a_bucket_refills_with_time_and_never_exceeds_one_minutes_allowance() -> None:
    from gateway.ratelimit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.take("k") == 0.0 for _ in range(60))
    assert limiter.take("k") == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.take("k") == 0.0
    now[0] += 3600.0
    assert sum(limiter.take("k") == 0.0 for _ in range(100)) == 60
    assert RateLimiter(0).enabled is False
