"""The gateway's own refusals (401/404/413/422/429/502) follow Accept-Language like the services'."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from gateway.app import create_app
from servicekit.i18n import translations
from servicekit.settings import KezhuanSettings

from .conftest import unused_port

CJK = re.compile(r"[\u4e00-\u9fff]")
LIMIT = 3


@pytest_asyncio.fixture
async def edge() -> AsyncIterator[httpx.AsyncClient]:
    """A gateway in front of unreachable services, so every answer is the gateway's own."""
    dead = f"http://127.0.0.1:{unused_port()}"
    settings = KezhuanSettings(
        env="test", rate_limit_per_minute=LIMIT,
        ownership_url=dead, pricing_url=dead, exemption_url=dead, finance_url=dead,
    )
    gateway = create_app(settings, webhooks=None, connect_timeout=0.5, upstream_timeout=2.0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway), base_url="http://gateway") as client:
        yield client
    await gateway.upstreams.close()


def _pair(zh: httpx.Response, en: httpx.Response, status: int) -> tuple[dict, dict]:
    assert zh.status_code == en.status_code == status, (zh.text, en.text)
    zh_body, en_body = zh.json(), en.json()
    assert (zh_body["type"], zh_body["status"], zh_body.get("rule")) == (en_body["type"], en_body["status"], en_body.get("rule"))
    assert CJK.search(zh_body["title"]) and CJK.search(zh_body["detail"]), zh_body
    assert not CJK.search(en_body["title"] + en_body["detail"]), en_body
    assert zh.headers["content-language"] == "zh-CN" and en.headers["content-language"] == "en"
    return zh_body, en_body


async def test_gateway_refusals_are_chinese_by_default_and_english_on_request(edge: httpx.AsyncClient) -> None:
    en = {"Accept-Language": "en-US,en;q=0.9"}
    zh, english = _pair(await edge.get("/api/v1/nowhere"), await edge.get("/api/v1/nowhere", headers=en), 404)
    assert english["detail"] == "no such resource" and zh["detail"] == translations("zh")["no such resource"]

    zh, english = _pair(
        await edge.get("/api/v1/dead-letters?service=nope"), await edge.get("/api/v1/dead-letters?service=nope", headers=en), 422
    )
    assert "ownership" in zh["detail"] and "ownership" in english["detail"]

    bad = {"Authorization": "Bearer not.a.jwt"}
    zh, english = _pair(
        await edge.get("/api/v1/notices", headers={**bad, "Accept-Language": "en;q=0.1, zh;q=0.9"}),
        await edge.get("/api/v1/notices", headers={**bad, **en}), 401,
    )
    assert zh["detail"].startswith("令牌无效：") and english["detail"].startswith("invalid token: ")

    huge = {"Content-Length": str(2 * 1024 * 1024), "Content-Type": "application/json"}
    zh, english = _pair(
        await edge.post("/api/v1/units", content=b"{}", headers={**huge, "Accept-Language": "fr"}),
        await edge.post("/api/v1/units", content=b"{}", headers={**huge, **en}), 413,
    )
    assert "1048576" in zh["detail"] and english["detail"] == "the request body exceeds 1048576 bytes"


async def test_upstream_failures_and_the_rate_limit_follow_accept_language(edge: httpx.AsyncClient) -> None:
    token = {"Authorization": "Bearer " + _token()}
    zh, english = _pair(
        await edge.get("/api/v1/notices", headers=token), await edge.get("/api/v1/notices", headers={**token, "Accept-Language": "en"}), 502
    )
    assert "pricing" in zh["detail"] and english["detail"] == "the pricing service could not be reached"
    for _ in range(LIMIT - 2):
        await edge.get("/api/v1/notices", headers=token)
    zh, english = _pair(
        await edge.get("/api/v1/notices", headers=token), await edge.get("/api/v1/notices", headers={**token, "Accept-Language": "en"}), 429
    )
    assert "Retry-After" in zh["detail"] and "Retry-After" in english["detail"]


def _token() -> str:
    from servicekit.auth import mint_token

    return mint_token(KezhuanSettings(env="test").jwt_secret.get_secret_value(), sub="language-probe", roles=["enterprise"])
