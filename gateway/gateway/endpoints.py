"""The gateway's own endpoints: health, readiness, metrics, API documents and the test clock.

None of these is on the hot path, so they use FastAPI for validation and problem+json.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Body, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import AwareDatetime, BaseModel, Field, field_validator
from starlette.responses import HTMLResponse, Response

from gateway.asyncapi import AsyncApiCache, Declarations
from gateway.metrics import GatewayMetrics
from gateway.openapi import OpenApiCache
from gateway.proxy import UpstreamError, Upstreams
from gateway.routes import TEST_CLOCK_PATH
from gateway.webhooks.router import router as webhooks_router
from gateway.webhooks.runtime import WebhookRuntime
from servicekit.clock import real_now
from servicekit.problems import PROBLEM_RESPONSES, install_problem_handlers, problem, request_language

INTERNAL_TEST_CLOCK = "/internal/test-clock"
INTERNAL_CONSUMERS = "/internal/consumers"
READY_TIMEOUT = 2.0
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kezhuan API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}
code{font-weight:600}li{margin:.2rem 0}.m{display:inline-block;width:4.5rem;text-transform:uppercase}</style>
</head><body>
<h1>Kezhuan API</h1>
<p>Machine-readable documents: <a href="/openapi.json">OpenAPI 3.1 (REST)</a> ·
<a href="/asyncapi.json">AsyncAPI 3.0 (events)</a>. Load the OpenAPI document into any client
generator or viewer; this page lists its operations.</p>
<div id="ops">Loading…</div>
<script>
fetch("/openapi.json").then(r => r.json()).then(doc => {
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op !== "object" || !op.responses) continue;
      const tag = (op.tags && op.tags[0]) || "other";
      (byTag[tag] = byTag[tag] || []).push([method, path, op.summary || ""]);
    }
  }
  const root = document.getElementById("ops");
  root.textContent = "";
  for (const tag of Object.keys(byTag).sort()) {
    const h = document.createElement("h2"); h.textContent = tag; root.append(h);
    const ul = document.createElement("ul");
    for (const [method, path, summary] of byTag[tag]) {
      const li = document.createElement("li");
      const m = document.createElement("span"); m.className = "m"; m.textContent = method;
      const c = document.createElement("code"); c.textContent = path;
      li.append(m, c, " ", summary); ul.append(li);
    }
    root.append(ul);
  }
}).catch(err => { document.getElementById("ops").textContent = "Could not load /openapi.json: " + err; });
</script>
</body></html>
"""


class TestClockSetting(BaseModel):
    """The instant every service should take as "now"; time runs on from there."""

    now: Annotated[AwareDatetime, Field(description="RFC 3339 with offset", examples=["2030-01-01T09:00:00+08:00"])]

    @field_validator("now", mode="before")
    @classmethod
    def _rfc3339_text(cls, value: Any) -> Any:
        # pydantic would also take a Unix timestamp; the contract says RFC 3339.
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 timestamp with offset, e.g. 2030-01-01T09:00:00+08:00")
        return value


class TestClockState(BaseModel):
    """The clock the services now agree on."""

    now: datetime


def _problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response entry with the shared problem+json schema."""
    return {"description": description, "content": PROBLEM_RESPONSES[503]["content"]}


_FAN_OUT_PROBLEMS: dict[int | str, dict[str, Any]] = {
    502: _problem_doc("a service refused the change; the detail names it"),
    503: _problem_doc("a service could not be reached; the detail names it"),
}


_NO_TOKEN: dict[str, Any] = {"security": []}
"""The test clock needs no token (API.md §2)."""


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _request_id(request: Request) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def create_endpoints(
    *,
    upstreams: Upstreams,
    metrics: GatewayMetrics,
    asyncapi: Callable[[Declarations], dict[str, Any]],
    test_clock: bool,
    version: str,
    webhooks: WebhookRuntime | None = None,
    jwt_secret: str = "",
) -> FastAPI:
    """The FastAPI app behind the gateway's own paths (with /api/v1/webhooks when `webhooks` runs);
    `asyncapi` builds the event document from the services' consumer declarations."""
    app = FastAPI(title="Kezhuan gateway", version=version, openapi_url=None, docs_url=None, redoc_url=None)
    install_problem_handlers(app)
    if webhooks is not None:
        app.state.webhooks = webhooks
        app.state.jwt_secret = jwt_secret
        app.include_router(webhooks_router)
    services = list(upstreams.urls)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return _json({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        async def probe(service: str) -> str | None:
            try:
                status, _ = await upstreams.call(
                    service, "GET", "/readyz", request_id=_request_id(request), timeout=READY_TIMEOUT
                )
            except UpstreamError as exc:
                return exc.reason
            return None if status == 200 else f"not ready ({status})"

        results = await asyncio.gather(*(probe(s) for s in services))
        down = {s: reason for s, reason in zip(services, results, strict=True) if reason is not None}
        if down:
            detail = "; ".join(f"{s}: {reason}" for s, reason in down.items())
            return problem(503, "not ready: {detail}", params={"detail": detail}, language=request_language(request))
        return _json({"status": "ready", "services": {s: "ready" for s in services}})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi_json() -> Response:
        return Response(await asyncapi_cache.document(), media_type="application/json")

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> Response:
        return Response(await openapi.document(), media_type="application/json")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_HTML)

    if test_clock:
        async def fan_out(request: Request, method: str, body: dict[str, Any] | None) -> Response | None:
            async def one(service: str) -> str | None:
                try:
                    status, _ = await upstreams.call(
                        service, method, INTERNAL_TEST_CLOCK, json=body, request_id=_request_id(request)
                    )
                except UpstreamError as exc:
                    return exc.reason
                return None if 200 <= status < 300 else f"answered {status}"

            results = await asyncio.gather(*(one(s) for s in services))
            failed = {s: reason for s, reason in zip(services, results, strict=True) if reason is not None}
            if not failed:
                return None
            unreachable = all(not reason.startswith("answered") for reason in failed.values())
            detail = "; ".join(f"{s}: {reason}" for s, reason in failed.items())
            return problem(
                503 if unreachable else 502,
                "the test clock was not changed on every service ({detail}); the others did change, retry",
                params={"detail": detail}, language=request_language(request),
            )

        @app.put(
            TEST_CLOCK_PATH,
            response_model=TestClockState,
            responses={
                400: _problem_doc("the body is not text (e.g. not UTF-8)"),
                413: _problem_doc("body over 1 MiB"),
                422: _problem_doc("`now` missing, not RFC 3339, or without an offset"),
                **_FAN_OUT_PROBLEMS,
            },
            tags=["test clock"],
            summary="Set the test clock of every service (dev and test only)",
            openapi_extra=_NO_TOKEN,
        )
        async def set_test_clock(request: Request, setting: Annotated[TestClockSetting, Body()]) -> Response:
            """Make `now` the current instant for every service; time runs on from there at normal speed."""
            now = setting.now.isoformat()
            # One real instant for all services, so their clocks agree exactly.
            refusal = await fan_out(request, "PUT", {"now": now, "set_at": real_now().isoformat()})
            return refusal or _json({"now": now})

        @app.delete(
            TEST_CLOCK_PATH,
            response_model=TestClockState,
            responses=_FAN_OUT_PROBLEMS,
            tags=["test clock"],
            summary="Return every service to real time (dev and test only)",
            openapi_extra=_NO_TOKEN,
        )
        async def reset_test_clock(request: Request) -> Response:
            """Return every service to real time."""
            refusal = await fan_out(request, "DELETE", None)
            return refusal or _json({"now": real_now().isoformat()})

    documented = test_clock or webhooks is not None
    own_doc = get_openapi(title=app.title, version=version, routes=app.routes) if documented else None

    async def fetch(service: str) -> dict[str, Any] | None:
        try:
            status, body = await upstreams.call(service, "GET", "/openapi.json")
            doc = orjson.loads(body) if status == 200 else None
        except (UpstreamError, orjson.JSONDecodeError):
            return None
        return doc if isinstance(doc, dict) and isinstance(doc.get("paths"), dict) else None

    openapi = OpenApiCache(services, fetch, own_doc, version=version)
    app.state.openapi = openapi

    async def fetch_consumers(service: str) -> list[dict[str, Any]] | None:
        try:
            status, body = await upstreams.call(service, "GET", INTERNAL_CONSUMERS)
            declared = orjson.loads(body) if status == 200 else None
        except (UpstreamError, orjson.JSONDecodeError):
            return None
        consumers = declared.get("consumers") if isinstance(declared, dict) else None
        return consumers if isinstance(consumers, list) else None

    asyncapi_cache = AsyncApiCache(services, fetch_consumers, asyncapi)
    return app
