"""Tiny upstream services and an in-process uvicorn runner for the gateway tests."""
from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from gateway.app import Gateway, create_app
from servicekit.settings import SERVICES, KezhuanSettings

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
STREAM_CHUNKS = 40
STREAM_CHUNK = b"x" * 5000


class InProcessServer(uvicorn.Server):
    """uvicorn without signal handlers: pytest owns the process's signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signal handling alone."""
        yield


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll `condition` until it holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


def unused_port() -> int:
    """A port nothing listens on (connections to it are refused until someone binds it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def serve(app: Any, port: int = 0) -> AsyncIterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 (lifespan included); yields its base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = InProcessServer(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done())
    if task.done():
        task.result()  # surfaces the start-up error
        raise RuntimeError("server stopped during start-up")
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        await task


def _openapi(service: str, paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """A service document shaped like FastAPI's, with the shared validation schemas."""
    return {
        "openapi": "3.1.0",
        "info": {"title": f"Kezhuan {service}", "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": {
                "ValidationError": {"type": "object", "properties": {"msg": {"type": "string"}}},
                "HTTPValidationError": {
                    "type": "object",
                    "properties": {"detail": {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}},
                },
                **schemas,
            },
            "securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _op(operation_id: str, ref: str | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}} if ref else {}
    return {
        "operationId": operation_id,
        "security": [{"HTTPBearer": []}],
        "responses": {
            "200": {"description": "ok", "content": content},
            "422": {
                "description": "invalid",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
            },
        },
    }


AUDIT = {"get": _op("verify_audit_api_v1_audit_verify_get")}
# `Party` differs between ownership and pricing; `Deal` is textually identical in both but refers
# to `Party`, so it must be renamed too. `Policy` exists only once and must keep its name.
OPENAPI: dict[str, dict[str, Any]] = {
    "ownership": _openapi(
        "ownership",
        {
            "/api/v1/units/{id}": {"get": _op("get_unit", "Policy")},
            "/api/v1/achievements": {"post": _op("create_achievement", "Deal")},
            "/api/v1/audit/verify": AUDIT,
        },
        {
            "Party": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Deal": {"type": "object", "properties": {"party": {"$ref": "#/components/schemas/Party"}}},
            "Policy": {"type": "object", "properties": {"notice_days": {"type": "integer"}}},
        },
    ),
    "pricing": _openapi(
        "pricing",
        {
            "/api/v1/transactions/{id}": {"get": _op("get_transaction", "Deal")},
            "/api/v1/units/{id}/prices": {"get": _op("unit_prices")},  # routed to ownership: left out
            "/internal/test-clock": {"put": _op("internal_clock")},
            "/api/v1/audit/verify": AUDIT,
        },
        {
            "Party": {"type": "object", "properties": {"credit_code": {"type": "string"}}},
            "Deal": {"type": "object", "properties": {"party": {"$ref": "#/components/schemas/Party"}}},
        },
    ),
    "exemption": _openapi(
        "exemption",
        {"/api/v1/exemption-cases/{id}": {"get": _op("get_case")}, "/api/v1/audit/verify": AUDIT},
        {},
    ),
    "finance": _openapi(
        "finance",
        {"/api/v1/incomes": {"get": _op("list_incomes")}, "/api/v1/audit/verify": AUDIT},
        {},
    ),
    "evaluation": _openapi(
        "evaluation",
        {"/api/v1/evaluation/province": {"get": _op("get_province_table")}, "/api/v1/audit/verify": AUDIT},
        {},
    ),
}


CONSUMERS: dict[str, list[dict[str, Any]]] = {
    "ownership": [],
    "pricing": [],
    "exemption": [],
    "finance": [
        {
            "durable": "finance-deal-income",
            "handles": [{"event_type": "pricing.deal.concluded", "model": "DealConcluded", "summary": "FIN-1: income"}],
        }
    ],
}
"""What each stub says it consumes (`/internal/consumers`)."""


class StubService:
    """An upstream that echoes what it received and records test-clock calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = ""
        self.ready = True
        self.clock_calls: list[tuple[str, dict[str, Any] | None]] = []
        self.release = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/readyz", self._readyz),
                Route("/openapi.json", self._openapi),
                Route("/internal/consumers", self._consumers),
                Route("/internal/test-clock", self._clock, methods=["PUT", "DELETE"]),
                Route("/api/v1/units/slow", self._slow, methods=["GET"]),
                Route("/api/v1/units/stream", self._stream, methods=["GET"]),
                Route("/{path:path}", self._echo, methods=ALL_METHODS),
            ]
        )

    async def _readyz(self, _request: Request) -> Response:
        return Response(b"{}", status_code=200 if self.ready else 503, media_type="application/json")

    async def _openapi(self, _request: Request) -> Response:
        return Response(orjson.dumps(OPENAPI[self.name]), media_type="application/json")

    async def _consumers(self, _request: Request) -> Response:
        return Response(orjson.dumps({"service": self.name, "consumers": CONSUMERS[self.name]}), media_type="application/json")

    async def _clock(self, request: Request) -> Response:
        body = await request.body()
        if body and request.headers.get("content-type") != "application/json":
            return Response(b"{}", status_code=422)  # as FastAPI refuses a body it cannot read as JSON
        self.clock_calls.append((request.method, orjson.loads(body) if body else None))
        return Response(b'{"now":"x"}', media_type="application/json")

    async def _slow(self, _request: Request) -> Response:
        await self.release.wait()
        return Response(b"late")

    async def _stream(self, _request: Request) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(STREAM_CHUNKS):
                yield STREAM_CHUNK

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def _echo(self, request: Request) -> Response:
        body = await request.body()
        echoed = {
            "service": self.name,
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "body": body.decode("utf-8", "replace"),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
        }
        status = int(request.headers.get("x-stub-status", "200"))
        response = Response(orjson.dumps(echoed), status_code=status, media_type="application/json")
        response.headers["x-stub"] = self.name
        response.headers["etag"] = '"3"'
        response.headers.append("set-cookie", "a=1")
        response.headers.append("set-cookie", "b=2")
        # Real services echo the request id too; the gateway must not duplicate it.
        response.headers["x-request-id"] = request.headers.get("x-request-id", "")
        return response


def settings_for(urls: dict[str, str], **overrides: Any) -> KezhuanSettings:
    """Settings pointing the gateway at the given service URLs."""
    fields: dict[str, Any] = {"env": "test", **{f"{name}_url": url for name, url in urls.items()}}
    return KezhuanSettings(**{**fields, **overrides})


@pytest.fixture(scope="session")
async def stubs() -> AsyncIterator[dict[str, StubService]]:
    """One running stub per service."""
    services = {name: StubService(name) for name in SERVICES}
    async with contextlib.AsyncExitStack() as stack:
        for stub in services.values():
            stub.url = await stack.enter_async_context(serve(stub.app))
        yield services
        for stub in services.values():
            stub.release.set()


@pytest.fixture(scope="session")
def stub_urls(stubs: dict[str, StubService]) -> dict[str, str]:
    """Base URL of each stub service."""
    return {name: stub.url for name, stub in stubs.items()}


@pytest.fixture(scope="session")
def gateway(stub_urls: dict[str, str]) -> Gateway:
    """The gateway app in front of the stubs (served by `client`); webhooks have their own tests."""
    return create_app(settings_for(stub_urls), webhooks=None)


@pytest.fixture(scope="session")
async def client(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running gateway."""
    async with serve(gateway) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        yield http


@pytest.fixture(scope="session")
def secret() -> str:
    """The JWT secret the test settings use."""
    return KezhuanSettings(env="test").jwt_secret.get_secret_value()


@contextlib.asynccontextmanager
async def running_gateway(settings: KezhuanSettings, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A separately configured gateway, served for one test."""
    async with serve(create_app(settings, **{"webhooks": None, **options})) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        yield http


@pytest.fixture
def start_gateway() -> Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Factory: `async with start_gateway(settings, upstream_timeout=...) as client`."""
    return running_gateway


@pytest.fixture
def make_settings() -> Callable[..., KezhuanSettings]:
    """Factory for gateway settings pointing at given service URLs."""
    return settings_for


@pytest.fixture
def serve_app() -> Callable[..., contextlib.AbstractAsyncContextManager[str]]:
    """Factory: `async with serve_app(app, port) as url` runs another upstream."""
    return serve


@pytest.fixture
def free_port() -> Callable[[], int]:
    """Factory for a port nothing listens on."""
    return unused_port
