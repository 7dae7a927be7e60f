"""The webhook SSRF guard: no subscription, and no delivery, to a non-public address unless allow-listed."""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlalchemy import select

from gateway.app import create_app
from gateway.models import WebhookEvent
from gateway.webhooks.service import RetryPolicy
from gateway.webhooks.targets import TargetRefused, check_target, numeric_host, parse_networks
from servicekit.auth import mint_token
from servicekit.settings import DEV_JWT_SECRET, KezhuanSettings
from servicekit.testing import DatabaseFactory, eventually, publish_event

from .conftest import serve

RECEIVER_HOST = "127.0.0.2"
"""A loopback address of its own, so that allow-listing it leaves 127.0.0.1 refused."""
EVENT_TYPE = "exemption.case.opened"
DEPARTMENT = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, sub='dept-ssrf', roles=['department'])}"}
ADMIN = {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, sub='admin-ssrf', roles=['platform_admin'])}"}

NON_PUBLIC_URLS = [
    "http://127.0.0.1:5432/",
    "http://[::1]:4222/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://localhost:8001/",
    "http://LOCALHOST./",
    "http://db.localhost/",
    "http://metadata.google.internal/",
    "http://postgres/",
    "https://no-such-host.invalid/",
]


@pytest.fixture(scope="module")
async def received() -> AsyncIterator[tuple[str, list[str]]]:
    paths: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        paths.append(request.path)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{hook}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, RECEIVER_HOST, 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://{RECEIVER_HOST}:{port}", paths
    await runner.cleanup()


@pytest.fixture(scope="module")
async def gateway(
    databases: DatabaseFactory, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    settings = KezhuanSettings(
        env="test",
        nats_url=nats_url,
        data_dir=tmp_path_factory.mktemp("webhook-targets"),
        database_url_gateway=await databases.url(f"gateway_{uuid.uuid4().hex[:6]}"),
        webhook_allow_private=f"{RECEIVER_HOST}/32",
    )
    app = create_app(settings, webhooks=RetryPolicy(max_attempts=1, first_delay=timedelta(seconds=1)))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        await asyncio.wait_for(app.webhooks.nats.ready.wait(), 20)
        # Let the dispatcher catch up with earlier tests' events, so only this module's reach its subscriptions.
        sentinel = await publish_event(nats_url, "pricing.notice.published", "sentinel", {})
        await eventually(lambda: _recorded(app, sentinel), timeout=60)
        yield app, http


@pytest.mark.parametrize("url", NON_PUBLIC_URLS)
async def test_a_subscription_to_a_non_public_address_is_refused(
    gateway: tuple[Any, httpx.AsyncClient], url: str
) -> None:
    _, http = gateway
    headers = ADMIN if "5432" in url else DEPARTMENT
    response = await http.post(
        "/api/v1/webhooks", json={"event_types": [EVENT_TYPE], "url": url}, headers={**headers, "Accept-Language": "en"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "webhook URL" in response.json()["detail"]


async def test_the_refusal_is_explained_in_chinese_by_default(gateway: tuple[Any, httpx.AsyncClient]) -> None:
    _, http = gateway
    response = await http.post(
        "/api/v1/webhooks", json={"event_types": [EVENT_TYPE], "url": "http://169.254.169.254/"}, headers=DEPARTMENT
    )
    assert response.status_code == 422
    assert "169.254.169.254" in response.json()["detail"] and "公网" in response.json()["detail"]


async def test_a_public_address_passes_and_spellings_of_loopback_are_read_as_loopback() -> None:
    async def public_resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]

    assert await check_target("https://hooks.example.org/in", (), public_resolver)
    assert await check_target("http://8.8.8.8:8080/", ()) == ["8.8.8.8"]
    for spelling in ("2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::ffff:7f00:1]"):
        assert str(numeric_host(spelling)) == "127.0.0.1"
    with pytest.raises(TargetRefused):
        await check_target("ftp://8.8.8.8/", ())
    # The allow-list lets exactly its networks through.
    assert await check_target("http://10.1.2.3/", parse_networks("10.1.0.0/16"))
    with pytest.raises(TargetRefused):
        await check_target("http://10.2.0.1/", parse_networks("10.1.0.0/16"))


async def test_an_allow_listed_loopback_receiver_gets_deliveries_and_one_no_longer_allowed_gets_none(
    gateway: tuple[Any, httpx.AsyncClient], received: tuple[str, list[str]], nats_url: str
) -> None:
    app, http = gateway
    base, paths = received
    allowed, rebound = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    subscriptions = {}
    for hook in (allowed, rebound):
        response = await http.post(
            "/api/v1/webhooks", json={"event_types": [EVENT_TYPE], "url": f"{base}/{hook}"}, headers=DEPARTMENT
        )
        assert response.status_code == 201, response.text
        subscriptions[hook] = response.json()["id"]

    await publish_event(nats_url, EVENT_TYPE, f"case-{uuid.uuid4().hex[:6]}", {})
    await eventually(lambda: _true(f"/{allowed}" in paths and f"/{rebound}" in paths), timeout=60)

    # The address stopped being allowed (as if the name now resolved to a private address): refused unsent.
    app.webhooks.allow_private = ()
    paths.clear()
    try:
        event_id = await publish_event(nats_url, EVENT_TYPE, f"case-{uuid.uuid4().hex[:6]}", {})

        async def settled() -> dict[str, Any] | None:
            response = await http.get(
                f"/api/v1/webhooks/{subscriptions[rebound]}/deliveries",
                params={"status": "failed", "limit": 200}, headers=DEPARTMENT,
            )
            found = [d for d in response.json()["items"] if d["event_id"] == event_id]
            return found[0] if found and found[0]["status"] == "failed" else None

        failed = await eventually(settled, timeout=60)
    finally:
        app.webhooks.allow_private = parse_networks(f"{RECEIVER_HOST}/32")
    assert failed["last_status"] is None
    assert failed["last_error"].startswith("refused, not sent:") and "loopback" in failed["last_error"]
    assert paths == []


async def _recorded(app: Any, event_id: str) -> bool:
    async with app.webhooks.sessions() as session:
        return await session.scalar(select(WebhookEvent.seq).where(WebhookEvent.event_id == event_id)) is not None


async def _true(condition: bool) -> bool:
    return condition
