"""The forwarding path: pure ASGI in, one pooled aiohttp session out.

Every integrator request crosses this code, so it avoids per-request work that can be done
once: header sets, base URLs and timeouts are built at start-up, headers are scanned in a
single pass, and small bodies are read and sent in one piece.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from time import perf_counter
from typing import Any
from urllib.parse import parse_qs, quote

import aiohttp
import orjson
from yarl import URL

from gateway.metrics import GatewayMetrics
from gateway.ratelimit import RateLimiter
from gateway.routes import AUDIT_VERIFY_PATH, OPERATIONS_SEGMENTS, first_segment, has_dot_segment, route
from gateway.tokens import TokenCache
from servicekit import tracing
from servicekit.i18n import N_, language_of_headers
from servicekit.middleware import MAX_BODY_BYTES, TOO_LARGE, body_limit
from servicekit.problems import problem
from servicekit.tracecontext import continue_trace

log = logging.getLogger("kezhuan.gateway")
access_log = logging.getLogger("kezhuan.access")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

GATEWAY = "gateway"
"""Metrics label for requests the gateway answered itself."""

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Host is the upstream's, Content-Length is recomputed from the body sent on, the request id
# is replaced by the accepted/generated one, and Expect was already answered by this server.
# The trace context is continued (a new span in the caller's trace) rather than passed on.
# X-Forwarded-For is passed on with the peer this gateway saw appended, so a service can trust its last entry
# (PRC-5 limits anonymous objections per client address).
_DROP_REQUEST = _HOP_BY_HOP | {
    b"host", b"content-length", b"x-request-id", b"expect", b"traceparent", b"x-forwarded-for"
}
# uvicorn writes its own Date and Server; the gateway writes the request id itself.
_DROP_RESPONSE = _HOP_BY_HOP | {b"date", b"server", b"x-request-id"}
_REQUEST_ID_MAX = 200
_BUFFERED_RESPONSE_MAX = 4 * 1024 * 1024
"""Responses up to this size (with a Content-Length) go out in one message; larger ones stream."""
_TOO_MANY = N_("too many requests from this client; retry after the number of seconds in Retry-After")
_NO_SUCH_RESOURCE = N_("no such resource")


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A random UUID4 as 32 hex digits; as `uuid.uuid4().hex`, at half the cost (most callers send none)."""
    return "%032x" % (int.from_bytes(os.urandom(16), "big") & _UUID4_CLEAR | _UUID4_SET)


def log_access(
    method: str, path: str, status: int, seconds: float, request_id: str, traceparent: str | None, service: str
) -> None:
    """One JSON access-log line (skipped cheaply when INFO is off)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields: dict[str, Any] = {
        "request_id": request_id,
        "upstream": service,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    if traceparent:
        fields["trace_id"] = traceparent[3:35]
        fields["span_id"] = traceparent[36:52]
    access_log.info("%s %s %s", method, path, status, extra={"fields": fields})


_SPAN_KEY = "kezhuan.span"
"""Where the request's span waits in the ASGI scope (only while tracing is on)."""


def _end_span(span: Any, status: int) -> None:
    """Record the answer's status on the gateway's span (if any) and end it."""
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        span.end()


class UpstreamError(Exception):
    """A service could not be reached or did not answer in time."""

    def __init__(self, service: str, reason: str, *, timeout: bool) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason
        self.timeout = timeout


class Upstreams:
    """The services' base URLs and the one pooled HTTP client the gateway talks to them with."""

    def __init__(self, urls: dict[str, str], *, connect_timeout: float, total_timeout: float) -> None:
        self.urls = {service: url.rstrip("/") for service, url in urls.items()}
        self.connect_timeout = connect_timeout
        # sock_connect bounds the TCP connect; waiting for a pooled connection only counts
        # against the total, so a burst never turns into spurious connect timeouts.
        self.timeout = aiohttp.ClientTimeout(total=total_timeout, connect=None, sock_connect=connect_timeout)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        """Open the connection pool (in the lifespan, inside the running loop)."""
        if self._session is None:
            self._open()

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=1024,
            limit_per_host=0,
            # Below uvicorn's 5 s keep-alive, so the gateway drops idle connections first
            # instead of writing into one the service is closing.
            keepalive_timeout=4.0,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self.timeout,
            # Forward bodies and headers untouched: no decompression, no cookies carried from
            # one caller to the next, no headers the client did not send.
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            trust_env=False,
        )
        return self._session

    async def close(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session; opened on first use when the server runs no lifespan."""
        return self._open() if self._session is None else self._session

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        request_id: str | None = None,
        timeout: float = 5.0,
    ) -> tuple[int, bytes]:
        """One request of the gateway's own (readiness, OpenAPI, test clock): status and body."""
        # The session skips automatic headers (they must not be added to forwarded requests),
        # so the gateway's own requests name their content type themselves.
        headers = {"X-Request-ID": request_id} if request_id else {}
        body = None
        if json is not None:
            body = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=self.connect_timeout)
        try:
            async with self.session.request(
                method, self.urls[service] + path, data=body, headers=headers, timeout=client_timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise UpstreamError(service, "did not answer in time", timeout=True) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(service, f"unreachable ({type(exc).__name__})", timeout=False) from exc


def _decode_strict(raw: bytes) -> str:
    return raw.decode()


def _decode_lenient(raw: bytes) -> str:
    # aiohttp writes header values as UTF-8; a value that is not UTF-8 can only be passed on
    # approximately.
    return raw.decode("utf-8", "replace")


def _scan_headers(
    raw_headers: Iterable[tuple[bytes, bytes]], decode: Callable[[bytes], str], peer: str | None = None
) -> tuple[list[tuple[str, str]], bytes | None, str | None, bytes | None, bool, bytes | None]:
    """One pass: the headers to forward, and the few the gateway itself acts on."""
    forwarded: list[tuple[str, str]] = []
    request_id = authorization = content_length = connection = traceparent = None
    forwarded_for: list[str] = []
    chunked = False
    for name, value in raw_headers:
        if name in _DROP_REQUEST:
            if name == b"x-request-id":
                request_id = value
            elif name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"connection":
                connection = value
            elif name == b"traceparent":
                traceparent = value
            elif name == b"x-forwarded-for":
                forwarded_for.append(decode(value))
            continue
        text = decode(value)
        if name == b"authorization":
            authorization = text
        forwarded.append((decode(name), text))
    if connection is not None:
        # RFC 9110 §7.6.1: headers named in Connection are hop-by-hop too.
        named = {token.strip().lower() for token in connection.split(b",")} - {b"close", b"keep-alive"}
        if named:
            forwarded = [(k, v) for k, v in forwarded if k.lower().encode() not in named]
    if peer is not None:
        forwarded.append(("X-Forwarded-For", ", ".join([*forwarded_for, peer])))
    return forwarded, request_id, authorization, content_length, chunked, traceparent


_DISCONNECTED = b"\x00disconnected"
"""Sentinel: the client went away while sending its body."""


def _content_type(headers: list[tuple[str, str]]) -> bytes | None:
    for name, value in headers:
        if name.lower() == "content-type":
            return value.encode("latin-1", "replace")
    return None


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body (small bodies in one piece); None above `limit`, _DISCONNECTED if the client left."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return _DISCONNECTED
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= limit else None
    parts = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            return _DISCONNECTED
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def _stream_body(receive: Receive) -> Any:
    """The body passed on as it arrives (document uploads), never held whole in memory."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise aiohttp.ClientPayloadError("the client disconnected while uploading")
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _ascii(raw: bytes, safe: str) -> str:
    """Percent-encoded text for a URL; raw non-ASCII bytes (which some clients send) get encoded."""
    return raw.decode("ascii") if raw.isascii() else quote(raw, safe=safe)


class Proxy:
    """Pure-ASGI handler for /api/v1/*: route, check the token, forward, answer unchanged."""

    def __init__(
        self,
        upstreams: Upstreams,
        tokens: TokenCache,
        metrics: GatewayMetrics,
        limiter: RateLimiter | None = None,
        log_requests: bool = True,
    ) -> None:
        self.log_requests = log_requests
        self.upstreams = upstreams
        self.tokens = tokens
        self.metrics = metrics
        self.limiter = limiter or RateLimiter(0)
        self._bases = upstreams.urls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        peer = scope.get("client")
        peer_address = peer[0] if peer else None
        try:
            forwarded, raw_id, authorization, content_length, chunked, raw_trace = _scan_headers(
                scope["headers"], _decode_strict, peer_address
            )
        except UnicodeDecodeError:
            forwarded, raw_id, authorization, content_length, chunked, raw_trace = _scan_headers(
                scope["headers"], _decode_lenient, peer_address
            )
        if raw_id and raw_id.isascii():
            raw_id = raw_id[:_REQUEST_ID_MAX]
            request_id = raw_id.decode()
        else:
            request_id = new_request_id()
            raw_id = request_id.encode()
        forwarded.append(("X-Request-ID", request_id))
        tracer = tracing.TRACER
        if tracer is None:
            span = None
            traceparent = continue_trace(raw_trace.decode("latin-1") if raw_trace else None)
        else:
            span = tracing.start_span(
                tracer, f"{method} /api/v1/{first_segment(path)}",
                raw_trace.decode("latin-1") if raw_trace else None, tracing.SpanKind.SERVER,
            )
            traceparent = tracing.traceparent_of(span)
            scope[_SPAN_KEY] = span  # for _refuse
        forwarded.append(("traceparent", traceparent))

        segment = first_segment(path)
        service = route(segment, path)
        if service is None and (path == AUDIT_VERIFY_PATH or segment in OPERATIONS_SEGMENTS):
            service = self._audit_service(scope["query_string"])
            if service is None:
                return await self._refuse(
                    scope, receive, send, started, 422, request_id,
                    N_("`service` must name one of: {services}"), params={"services": ", ".join(self._bases)},
                )
        if service is None or has_dot_segment(path):
            return await self._refuse(scope, receive, send, started, 404, request_id, _NO_SUCH_RESOURCE)
        client_key: str | None = None
        if authorization is not None:
            refusal, client_key = self.tokens.verify(authorization)
            if refusal is not None:
                return await self._refuse(
                    scope, receive, send, started, 401, request_id, refusal.message, {"WWW-Authenticate": "Bearer"},
                    params=refusal.params,
                )
        if self.limiter.enabled:
            if client_key is None:
                client = scope.get("client")
                client_key = "ip:" + client[0] if client else "ip:unknown"
            wait = self.limiter.take(client_key)
            if wait:
                return await self._refuse(
                    scope, receive, send, started, 429, request_id, _TOO_MANY,
                    {"Retry-After": self.limiter.retry_after(wait)},
                )

        body: Any = None
        if content_length is not None or chunked:
            if content_length is not None and not content_length.isdigit():
                return await self._refuse(scope, receive, send, started, 400, request_id, N_("invalid Content-Length"))
            declared = int(content_length) if content_length is not None else None
            limit = MAX_BODY_BYTES
            if declared is None or declared > MAX_BODY_BYTES:
                # Only then is the content type looked at: a multipart upload may carry one document (DOC-1).
                limit = body_limit(_content_type(forwarded))
            if declared is not None and declared > limit:
                return await self._refuse(
                    scope, receive, send, started, 413, request_id, TOO_LARGE, params={"limit": limit}
                )
            if declared is not None and declared > MAX_BODY_BYTES:
                # A document upload streams through: the server reads exactly Content-Length bytes.
                forwarded.append(("Content-Length", content_length.decode()))
                body = _stream_body(receive)
            else:
                body = await _read_body(receive, limit)
                if body is _DISCONNECTED:
                    return _end_span(span, 499)
                if body is None:
                    return await self._refuse(
                    scope, receive, send, started, 413, request_id, TOO_LARGE, params={"limit": limit}
                )

        target = self._bases[service] + _ascii(scope.get("raw_path") or path.encode(), "/%")
        query = scope["query_string"]
        if query:
            target += "?" + _ascii(query, "=&%+")
        status = 502
        response_started = False
        try:
            async with self.upstreams.session.request(
                method, URL(target, encoded=True), headers=forwarded, data=body, allow_redirects=False
            ) as upstream:
                status = upstream.status
                headers = [(k, v) for k, v in upstream.raw_headers if k.lower() not in _DROP_RESPONSE]
                headers.append((b"x-request-id", raw_id))
                length = upstream.content_length
                if length is not None and length <= _BUFFERED_RESPONSE_MAX:
                    payload = await upstream.read()
                    response_started = True
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": payload})
                else:
                    response_started = True
                    await send({"type": "http.response.start", "status": status, "headers": headers})
                    async for chunk in upstream.content.iter_any():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    await send({"type": "http.response.body", "body": b""})
        except TimeoutError:
            if response_started:
                raise  # the status is out; closing the connection is the only honest signal left
            status = 504
            await problem(
                504, "the {service} service did not answer in time", params={"service": service},
                headers={"X-Request-ID": request_id}, language=language_of_headers(scope["headers"]),
            )(scope, receive, send)
        except aiohttp.ClientError as exc:
            if response_started:
                raise
            log.warning("%s unreachable for %s %s: %r", service, method, path, exc)
            status = 502
            await problem(
                502, "the {service} service could not be reached", params={"service": service},
                headers={"X-Request-ID": request_id}, language=language_of_headers(scope["headers"]),
            )(scope, receive, send)
        finally:
            elapsed = perf_counter() - started
            self.metrics.observe(service, method, status, elapsed)
            if self.log_requests:
                log_access(method, path, status, elapsed, request_id, traceparent, service)
            _end_span(span, status)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        started: float,
        status: int,
        request_id: str,
        detail: str,
        headers: dict[str, str] | None = None,
        *,
        params: dict[str, object] | None = None,
    ) -> None:
        """Answer from the gateway itself: `detail` is an English msgid, rendered in the caller's language."""
        await problem(
            status, detail, params=params, headers={**(headers or {}), "X-Request-ID": request_id},
            language=language_of_headers(scope["headers"]),
        )(scope, receive, send)
        elapsed = perf_counter() - started
        self.metrics.observe(GATEWAY, scope["method"], status, elapsed)
        if self.log_requests:
            log_access(scope["method"], scope["path"], status, elapsed, request_id, None, GATEWAY)
        span = scope.get(_SPAN_KEY)
        if span is not None:
            _end_span(span, status)


    def _audit_service(self, query_string: bytes) -> str | None:
        """The service named by `?service=` on the audit and dead-letter endpoints, if it is one."""
        names = parse_qs(query_string.decode("latin-1")).get("service", [])
        return names[0] if len(names) == 1 and names[0] in self._bases else None
