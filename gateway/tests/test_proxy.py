"""The forwarding path: routing, headers, bodies, request ids, token checks, limits, upstream trouble."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from servicekit.auth import mint_token
from servicekit.settings import SERVICES

PROBLEM = "application/problem+json"


def echoed_headers(response: httpx.Response) -> dict[str, list[str]]:
    """The headers the stub received, by lower-case name."""
    seen: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/units/u1", "ownership"),
        ("/api/v1/achievements", "ownership"),
        ("/api/v1/empowerments/e1/conversion", "ownership"),
        ("/api/v1/transactions/t1/notice", "pricing"),
        ("/api/v1/notices", "pricing"),
        ("/api/v1/listings/l1/delistings", "pricing"),
        ("/api/v1/auctions/a1/bids", "pricing"),
        ("/api/v1/challenges", "pricing"),
        ("/api/v1/exemption-cases/c1/panel", "exemption"),
        ("/api/v1/transactions/t1/exemption-readiness", "exemption"),  # EXE-13: served by exemption
        ("/api/v1/transactions/t1/record", "pricing"),
        ("/api/v1/incomes", "finance"),
        ("/api/v1/rewards", "finance"),
        ("/api/v1/horizontal-investments", "finance"),
        ("/api/v1/funds/f1/contributions", "finance"),
        ("/api/v1/invest-first-projects/p1/tranches", "finance"),
        ("/api/v1/subsidies", "finance"),
        ("/api/v1/receivables/r1/trigger", "finance"),
    ],
)
async def test_each_prefix_reaches_its_service(client: httpx.AsyncClient, path: str, service: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json()["service"] == service


async def test_method_path_query_body_and_status_are_forwarded_unchanged(client: httpx.AsyncClient) -> None:
    body = '{"title": "光催化", "kind": "patent"}'.encode()
    response = await client.patch(
        "/api/v1/achievements/a%2Fb/%E5%85%89?b=2&a=1&a=3&q=%20x",
        content=body,
        headers={"content-type": "application/json", "x-stub-status": "201", "x-custom": "kept"},
    )
    assert response.status_code == 201
    echoed = response.json()
    assert echoed["method"] == "PATCH"
    assert echoed["raw_path"] == "/api/v1/achievements/a%2Fb/%E5%85%89"
    assert echoed["query"] == "b=2&a=1&a=3&q=%20x"
    assert echoed["body"] == body.decode()
    seen = echoed_headers(response)
    assert seen["x-custom"] == ["kept"]
    assert seen["content-type"] == ["application/json"]
    assert seen["content-length"] == [str(len(body))]


async def test_response_headers_come_back_unchanged(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/units/u1", headers={"x-stub-status": "409"})
    assert response.status_code == 409
    assert response.headers["x-stub"] == "ownership"
    assert response.headers["etag"] == '"3"'
    assert response.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert len(response.headers.get_list("date")) == 1
    assert len(response.headers.get_list("x-request-id")) == 1


async def test_hop_by_hop_headers_are_not_forwarded(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/units/u1",
        headers={"Connection": "keep-alive, x-private", "x-private": "hop", "Proxy-Authorization": "Basic eA==", "TE": "trailers"},
    )
    seen = echoed_headers(response)
    for name in ("x-private", "proxy-authorization", "te"):
        assert name not in seen
    assert seen["host"] != [client.base_url.netloc.decode()]


async def test_request_id_is_accepted_forwarded_and_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/notices", headers={"X-Request-ID": "req-42"})
    assert response.headers.get_list("x-request-id") == ["req-42"]
    assert echoed_headers(response)["x-request-id"] == ["req-42"]


async def test_request_id_is_generated_when_absent(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/notices")
    generated = response.headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert echoed_headers(response)["x-request-id"] == [generated]


async def test_refusals_carry_the_request_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "req-404"


@pytest.mark.parametrize(
    "path", ["/api/v1/nowhere", "/api/v1/", "/api/v1/units/../../internal/test-clock", "/api/v1/internal/x"]
)
async def test_unknown_prefix_is_a_404_problem(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 404


async def test_audit_verify_goes_to_the_named_service(client: httpx.AsyncClient) -> None:
    for service in SERVICES:
        response = await client.get("/api/v1/audit/verify", params={"service": service})
        assert response.status_code == 200
        assert response.json()["service"] == service
        assert response.json()["raw_path"] == "/api/v1/audit/verify"


@pytest.mark.parametrize("query", ["", "?service=gateway", "?service=pricing&service=finance"])
async def test_audit_verify_without_a_valid_service_is_a_422(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"/api/v1/audit/verify{query}")
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_a_valid_token_is_forwarded_and_a_repeat_is_served_from_the_cache(
    client: httpx.AsyncClient, secret: str
) -> None:
    token = mint_token(secret, sub="p1", roles=["unit_admin"], unit_id="u1")
    for _ in range(2):
        response = await client.get("/api/v1/units/u1", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert echoed_headers(response)["authorization"] == [f"Bearer {token}"]


async def test_no_token_is_forwarded_for_the_service_to_decide(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/notices")
    assert response.status_code == 200
    assert "authorization" not in echoed_headers(response)


async def test_the_client_address_is_appended_to_x_forwarded_for(client: httpx.AsyncClient) -> None:
    alone = echoed_headers(await client.get("/api/v1/notices"))["x-forwarded-for"]
    assert len(alone) == 1 and alone[0]  # the peer the gateway saw (PRC-5 limits anonymous objections by it)
    behind = echoed_headers(await client.get("/api/v1/notices", headers={"X-Forwarded-For": "203.0.113.7"}))
    # The earlier hops are kept and the gateway's own view of the client comes last (uvicorn resolves it from
    # X-Forwarded-For only for a trusted proxy, `forwarded_allow_ips`), so a spoofed entry is never the last one.
    entries = behind["x-forwarded-for"][0].split(", ")
    assert len(behind["x-forwarded-for"]) == 1 and entries[0] == "203.0.113.7" and len(entries) == 2


def _bad_tokens(secret: str) -> dict[str, str]:
    exp = datetime.now(UTC) + timedelta(hours=1)
    return {
        "expired": mint_token(secret, sub="p1", roles=[], ttl=timedelta(seconds=-5)),
        "alg none": jwt.encode({"sub": "p1", "exp": exp}, None, algorithm="none"),
        "wrong secret": mint_token("another-secret-another-secret-xx", sub="p1", roles=[]),
        "no exp": jwt.encode({"sub": "p1"}, secret, algorithm="HS256"),
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize("kind", ["expired", "alg none", "wrong secret", "no exp", "garbage", "basic", "empty"])
async def test_bad_tokens_are_refused_with_401(client: httpx.AsyncClient, secret: str, kind: str) -> None:
    header = {"basic": "Basic dXNlcjpwYXNz", "empty": "Bearer"}.get(kind) or f"Bearer {_bad_tokens(secret)[kind]}"
    response = await client.get("/api/v1/units/u1", headers={"Authorization": header, "Accept-Language": "en"})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["title"] == "Unauthorized"


async def test_a_cached_token_is_refused_once_it_expires(client: httpx.AsyncClient, secret: str) -> None:
    token = mint_token(secret, sub="p1", roles=[], ttl=timedelta(seconds=1))
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/v1/notices", headers=headers)).status_code == 200
    while datetime.now(UTC).timestamp() < exp + 0.05:  # noqa: ASYNC110 — real time passing exp; nothing to signal
        await asyncio.sleep(0.05)
    assert (await client.get("/api/v1/notices", headers=headers)).status_code == 401


async def test_body_over_one_mebibyte_by_content_length_is_a_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/achievements", content=b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_body_over_one_mebibyte_while_streaming_is_a_413(client: httpx.AsyncClient) -> None:
    async def chunks():
        for _ in range(16):
            yield b"x" * (64 * 1024)
        yield b"x"

    response = await client.post("/api/v1/achievements", content=chunks())
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM


async def test_body_of_exactly_one_mebibyte_is_forwarded(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/achievements", content=b"x" * (1024 * 1024))
    assert response.status_code == 200
    assert len(response.json()["body"]) == 1024 * 1024


async def test_a_multipart_upload_of_one_document_streams_through_but_not_a_larger_one(client: httpx.AsyncClient) -> None:
    """DOC-1: a document of up to 20 MiB passes the 1 MiB limit when sent as multipart; the service checks the file."""
    from servicekit.middleware import MAX_DOCUMENT_BYTES, MAX_UPLOAD_BODY_BYTES

    files = {"file": ("合同.pdf", b"y" * MAX_DOCUMENT_BYTES, "application/pdf")}
    response = await client.post("/api/v1/transactions/t1/documents", files=files, data={"kind": "contract"})
    assert response.status_code == 200, response.text
    assert len(response.json()["body"]) > MAX_DOCUMENT_BYTES
    multipart = {"content-type": "multipart/form-data; boundary=b"}
    over = await client.post("/api/v1/transactions/t1/documents", content=b"x" * (MAX_UPLOAD_BODY_BYTES + 1), headers=multipart)
    assert over.status_code == 413
    assert over.headers["content-type"] == PROBLEM
    as_json = await client.post("/api/v1/transactions/t1/documents", content=b"x" * (1024 * 1024 + 1),
                                headers={"content-type": "application/json"})
    assert as_json.status_code == 413


async def test_a_streamed_response_arrives_whole(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/units/stream")
    assert response.status_code == 200
    assert response.content == b"x" * (40 * 5000)


async def test_a_service_that_is_down_gives_a_502_naming_it(start_gateway, make_settings, stub_urls, free_port) -> None:
    urls = {**stub_urls, "finance": f"http://127.0.0.1:{free_port()}"}
    async with start_gateway(make_settings(urls)) as gateway:
        response = await gateway.get("/api/v1/incomes")
        assert response.status_code == 502
        assert response.headers["content-type"] == PROBLEM
        assert "finance" in response.json()["detail"]
        assert (await gateway.get("/api/v1/units/u1")).status_code == 200


async def test_a_service_that_does_not_answer_in_time_gives_a_504(start_gateway, make_settings, stub_urls) -> None:
    async with start_gateway(make_settings(stub_urls), upstream_timeout=0.3) as gateway:
        response = await gateway.get("/api/v1/units/slow")
        assert response.status_code == 504
        assert response.headers["content-type"] == PROBLEM
        assert "ownership" in response.json()["detail"]


async def raw_exchange(client: httpx.AsyncClient, request: bytes) -> bytes:
    """Send bytes no well-behaved client would, and read the response head and body."""
    reader, writer = await asyncio.open_connection(client.base_url.host, client.base_url.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(1 << 20), 5)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        # uvicorn's parser refuses raw non-ASCII in the target before the gateway sees it
        (b"GET /api/v1/units/\xc3\xa9 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", b" 400 "),
        (b"GET /api/v1/units/u1?q=\xff HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", b" 400 "),
        (b"GET /api/v1/units/u1 HTTP/1.1\r\nHost: a\r\nX-Name: \xff\xfe\r\nConnection: close\r\n\r\n", b" 200 "),
        (b"GET /api/v1/units/u1 HTTP/1.1\r\nHost: a\r\nX-Request-ID: \xe4\xb8\xad\r\nConnection: close\r\n\r\n", b" 200 "),
        (b"POST /api/v1/achievements HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", b" 413 "),
        (b"POST /api/v1/achievements HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b" 400 "),
    ],
)
async def test_malformed_requests_never_get_a_5xx(client: httpx.AsyncClient, request_bytes: bytes, expected: bytes) -> None:
    response = await raw_exchange(client, request_bytes)
    status_line = response.split(b"\r\n", 1)[0]
    assert expected in status_line, response[:300]


async def test_head_is_forwarded_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.head("/api/v1/units/u1")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0
