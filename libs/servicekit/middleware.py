"""Pure ASGI middleware (cheap on the hot path): request id and body size limit."""
from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any

import orjson

from contracts.rules import Language
from servicekit.context import request_id_var, traceparent_var
from servicekit.i18n import N_, language_of_headers
from servicekit.problems import language_headers, problem_document

MAX_BODY_BYTES = 1024 * 1024
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
"""DOC-1: the largest document accepted (20 MiB; one byte more is 413, servicekit.documents)."""
MAX_UPLOAD_BODY_BYTES = MAX_DOCUMENT_BYTES + 1024 * 1024
"""A multipart/form-data body may be this large: one document plus its boundaries and text fields."""
MULTIPART = "multipart/form-data"


def body_limit(content_type: bytes | None) -> int:
    """The body limit for a request: 1 MiB (API.md §2), or room for one document when it is multipart (DOC-1)."""
    if content_type is not None and content_type[:19].lower() == MULTIPART.encode():
        return MAX_UPLOAD_BODY_BYTES
    return MAX_BODY_BYTES


class RequestIdMiddleware:
    """Accept or generate `X-Request-ID`, expose it to the code and echo it in the response."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        traceparent = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:200]
            elif name == b"traceparent":
                traceparent = value.decode("latin-1")[:200]
        request_id = request_id or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        trace_token = traceparent_var.set(traceparent)
        encoded = request_id.encode("latin-1")

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", encoded)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            traceparent_var.reset(trace_token)


TOO_LARGE = N_("the request body exceeds {limit} bytes")


def _too_large_body(limit: int, language: Language) -> bytes:
    return orjson.dumps(problem_document(413, TOO_LARGE, language=language, params={"limit": limit}))


class BodyLimitMiddleware:
    """413 problem+json for bodies over 1 MiB (multipart uploads: one document, DOC-1), by Content-Length or while streaming."""

    def __init__(self, app: Any, limit: int | None = None) -> None:
        self.app = app
        self.fixed_limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = 0
        content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
            elif name == b"content-type":
                content_type = value
        limit = self.fixed_limit if self.fixed_limit is not None else body_limit(content_type)
        if declared > limit:
            await self._reject(scope, send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._reject(scope, send, limit)

    async def _reject(self, scope: MutableMapping[str, Any], send: Any, limit: int) -> None:
        language = language_of_headers(scope["headers"])
        body = _too_large_body(limit, language)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    *((name.lower().encode(), value.encode()) for name, value in language_headers(language).items()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
