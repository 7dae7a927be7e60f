"""The gateway's ASGI entry point: `uvicorn gateway.app:create_app --factory`."""
from __future__ import annotations

import logging
from time import perf_counter
from typing import Any

from contracts.events import CATALOGUE
from gateway.asyncapi import build_asyncapi
from gateway.endpoints import create_endpoints
from gateway.metrics import GatewayMetrics
from gateway.openapi import OpenApiCache
from gateway.proxy import (
    GATEWAY,
    Proxy,
    Receive,
    Scope,
    Send,
    Upstreams,
    new_request_id,
)
from gateway.ratelimit import RateLimiter
from gateway.routes import API_PREFIX, TEST_CLOCK_PATH, WEBHOOKS_PATH
from gateway.tokens import TokenCache
from gateway.webhooks.runtime import WebhookRuntime
from gateway.webhooks.service import RetryPolicy
from servicekit.middleware import MAX_BODY_BYTES, BodyLimitMiddleware
from servicekit.observability import configure_logging
from servicekit.settings import SERVICES, KezhuanSettings, get_settings
from servicekit.tracing import configure_tracing

log = logging.getLogger("kezhuan.gateway")

VERSION = "0.1.0"


class Gateway:
    """Dispatches /api/v1/* to the pure-ASGI proxy and everything else to the gateway's own endpoints."""

    def __init__(
        self,
        settings: KezhuanSettings,
        *,
        connect_timeout: float,
        upstream_timeout: float,
        webhooks: RetryPolicy | None,
    ) -> None:
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.upstreams = Upstreams(
            {service: settings.service_url(service) for service in SERVICES},
            connect_timeout=connect_timeout,
            total_timeout=upstream_timeout,
        )
        self.tokens = TokenCache(settings.jwt_secret.get_secret_value())
        self.proxy = Proxy(
            self.upstreams,
            self.tokens,
            self.metrics,
            RateLimiter(settings.rate_limit_per_minute),
            log_requests=settings.access_log,
        )
        self.webhooks = WebhookRuntime(settings, webhooks) if webhooks is not None else None
        endpoints = create_endpoints(
            upstreams=self.upstreams,
            metrics=self.metrics,
            asyncapi=lambda consumers: build_asyncapi(
                CATALOGUE, nats_url=settings.nats_url, version=VERSION, consumers=consumers
            ),
            test_clock=settings.test_clock_enabled,
            version=VERSION,
            webhooks=self.webhooks,
            jwt_secret=settings.jwt_secret.get_secret_value(),
        )
        self.openapi: OpenApiCache = endpoints.state.openapi
        self._local = BodyLimitMiddleware(endpoints, limit=MAX_BODY_BYTES)  # no uploads to the gateway's own endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(API_PREFIX) and path != TEST_CLOCK_PATH and not path.startswith(WEBHOOKS_PATH):
                await self.proxy(scope, receive, send)
            else:
                await self._serve_local(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # websockets: nothing behind the gateway speaks them
            await send({"type": "websocket.close", "code": 1003})

    async def _serve_local(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        request_id = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")[:200]
        if not request_id or not request_id.isascii():
            request_id = new_request_id().encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        try:
            await self._local(scope, receive, send_with_id)
        finally:
            self.metrics.observe(GATEWAY, scope["method"], status, perf_counter() - started)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.upstreams.start()
                    if self.webhooks is not None:
                        await self.webhooks.start()
                except Exception as exc:  # report it to the server instead of dying silently
                    log.exception("gateway start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.upstreams.close()
                if self.webhooks is not None:
                    await self.webhooks.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_app(
    settings: KezhuanSettings | None = None,
    *,
    connect_timeout: float = 2.0,
    upstream_timeout: float = 30.0,
    webhooks: RetryPolicy | None = RetryPolicy(),
) -> Gateway:
    """Build the gateway (uvicorn's `--factory` calls it without arguments); `webhooks=None` runs none."""
    settings = settings or get_settings()
    configure_logging(GATEWAY, settings.log_level)
    configure_tracing(GATEWAY, settings.otel_exporter)
    return Gateway(
        settings, connect_timeout=connect_timeout, upstream_timeout=upstream_timeout, webhooks=webhooks
    )
