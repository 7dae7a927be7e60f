"""The request context every route receives: session, caller, clock, and the one commit path."""
from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from servicekit.audit import ACTOR_KEY
from servicekit.auth import Principal
from servicekit.clock import real_now
from servicekit.context import log_fields_var
from servicekit.errors import Conflict, InvalidInput, Unauthorized

if TYPE_CHECKING:
    from servicekit.app import Runtime

_bearer = HTTPBearer(auto_error=False, description="JWT (HS256) with sub, roles, unit_id, exp")


def _json_response(payload: Any, status_code: int, etag: str | None) -> Response:
    headers = {"ETag": etag} if etag else None
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json", headers=headers)


def _etag_of(result: Any) -> str | None:
    version = getattr(result, "version", None)
    return f'"{version}"' if isinstance(version, int) else None


class RequestContext:
    """What a route needs: the session (the request owns its transaction), the caller, `now`."""

    def __init__(self, runtime: "Runtime", session: AsyncSession, request: Request, principal: Principal | None) -> None:
        self.runtime = runtime
        self.session = session
        self.request = request
        self.principal = principal
        self.now: datetime = runtime.clock.now()

    @property
    def user(self) -> Principal:
        """The authenticated caller; 401 without a token."""
        if self.principal is None:
            raise Unauthorized("this endpoint needs a bearer token")
        return self.principal

    @property
    def expected_version(self) -> int | None:
        """The version named by `If-Match`, if any."""
        raw = self.request.headers.get("if-match")
        if raw is None or raw.strip() == "*":
            return None
        text = raw.strip().removeprefix("W/").strip('"')
        try:
            return int(text)
        except ValueError as exc:
            raise InvalidInput('If-Match must be a version as sent in ETag, e.g. "3"') from exc

    async def respond(self, result: BaseModel | dict[str, Any], status_code: int = 200) -> Response:
        """Answer a read: end the read transaction, send JSON with the ETag."""
        await self.session.rollback()
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return _json_response(payload, status_code, _etag_of(result))

    async def commit(self, produce: Callable[[], Awaitable[BaseModel]], status_code: int = 200) -> Response:
        """Run a state change and commit it with its outbox rows and its Idempotency-Key, atomically."""
        key = self.request.headers.get("idempotency-key")
        if key is not None and self.request.method == "POST":
            return await self._commit_idempotent(key[:200], produce, status_code)
        try:
            result = await produce()
            payload = result.model_dump(mode="json")
            await self.session.commit()
        except BaseException:
            await self.session.rollback()
            raise
        return _json_response(payload, status_code, _etag_of(result))

    async def _commit_idempotent(
        self, key: str, produce: Callable[[], Awaitable[BaseModel]], status_code: int
    ) -> Response:
        table = self.runtime.tables.idempotency
        owner = self.principal.sub if self.principal else "anonymous"
        # A document upload (servicekit.documents) leaves its digest: its body was streamed, not kept.
        request_hash = getattr(self.request.state, "body_digest", None)
        if request_hash is None:
            body = await self.request.body()
            request_hash = hashlib.sha256(
                self.request.method.encode() + b" " + self.request.url.path.encode() + b"\n" + body
            ).hexdigest()
        stored = await self._stored(owner, key)
        if stored is not None:
            return self._replay(stored, request_hash)
        try:
            result = await produce()
            payload = result.model_dump(mode="json")
            etag = _etag_of(result)
            await self.session.execute(
                table.insert().values(
                    principal=owner,
                    key=key,
                    request_hash=request_hash,
                    status_code=status_code,
                    body=orjson.dumps(payload),
                    etag=etag,
                    created_at=real_now(),
                )
            )
            await self.session.commit()
        except IntegrityError:
            # A concurrent request with the same key committed first: answer as it did.
            await self.session.rollback()
            stored = await self._stored(owner, key)
            await self.session.rollback()
            if stored is None:
                raise
            return self._replay(stored, request_hash)
        except BaseException:
            await self.session.rollback()
            raise
        return _json_response(payload, status_code, etag)

    async def _stored(self, owner: str, key: str) -> Any:
        table = self.runtime.tables.idempotency
        return (
            await self.session.execute(
                select(table).where(and_(table.c.principal == owner, table.c.key == key))
            )
        ).first()

    def _replay(self, stored: Any, request_hash: str) -> Response:
        if stored.request_hash != request_hash:
            raise Conflict("this Idempotency-Key was already used with a different request")
        headers = {"ETag": stored.etag} if stored.etag else None
        return Response(stored.body, status_code=stored.status_code, media_type="application/json", headers=headers)


async def _context(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> AsyncIterator[RequestContext]:
    runtime: Runtime = request.app.state.runtime
    principal = None
    if credentials is not None:
        principal = runtime.tokens.principal(credentials.credentials)
        fields = log_fields_var.get()
        if fields is not None and principal.unit_id:
            fields["unit"] = principal.unit_id
    elif "authorization" in request.headers:
        raise Unauthorized("the Authorization header must be `Bearer <token>`")
    async with runtime.sessions() as session:
        session.info[ACTOR_KEY] = principal.sub if principal else None
        yield RequestContext(runtime, session, request, principal)


async def get_context(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> AsyncIterator[RequestContext]:
    """Context for any route; the token is optional but, when sent, must be valid."""
    async for context in _context(request, credentials):
        yield context


async def get_public_context(request: Request) -> AsyncIterator[RequestContext]:
    """Context for public reads: no token needed (and none documented), but one sent must be valid."""
    header = request.headers.get("authorization")
    credentials = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
    async for context in _context(request, credentials):
        yield context


Ctx = Annotated[RequestContext, Depends(get_context)]
PublicCtx = Annotated[RequestContext, Depends(get_public_context)]
"""For the public reads of API.md §2 (notices, listings, pools, publications, challenges)."""
