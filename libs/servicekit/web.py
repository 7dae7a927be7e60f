"""The request context every route receives, and the route class that owns each request's transaction.

A route never decides whether its work is kept. `TransactionalRoute` opens the request's session
before the handler runs: a write (POST, PUT, PATCH, DELETE) commits when the handler returns and
rolls back on any error, its Idempotency-Key stored in the same transaction; a read (GET, HEAD)
runs in a read-only session that can never take SQLite's write lock (PostgreSQL: READ ONLY).
Handlers return their result model; it is sent as JSON with `ETag` = its version.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from servicekit.audit import ACTOR_KEY
from servicekit.auth import Principal
from servicekit.clock import real_now
from servicekit.context import log_fields_var, write_session_var
from servicekit.errors import Conflict, InvalidInput, Unauthorized

if TYPE_CHECKING:
    from servicekit.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="JWT (HS256) with sub, roles, unit_id, exp")

READ_METHODS = frozenset({"GET", "HEAD"})
"""Methods served in a read-only session: they never write (API.md §2 time-driven state is derived)."""
_SESSION_KEY = "kezhuan.session"


def _json_response(payload: Any, status_code: int, etag: str | None) -> Response:
    headers = {"ETag": etag} if etag else None
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json", headers=headers)


def _etag_of(result: Any) -> str | None:
    version = getattr(result, "version", None)
    return f'"{version}"' if isinstance(version, int) else None


class RequestContext:
    """What a route needs: the request's session (owned by its route, never committed here), the caller, `now`."""

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


def _answering(endpoint: Callable[..., Awaitable[Any]], status_code: int) -> Callable[..., Awaitable[Any]]:
    """The endpoint, its result model sent as JSON with its ETag (FastAPI passes a Response through as is)."""

    @functools.wraps(endpoint)
    async def answer(*args: Any, **kwargs: Any) -> Any:
        result = await endpoint(*args, **kwargs)
        if isinstance(result, Response):
            return result
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return _json_response(payload, status_code, _etag_of(result))

    return answer


def _takes_context(dependant: Dependant) -> bool:
    return any(
        sub.call in (get_context, get_public_context) or _takes_context(sub) for sub in dependant.dependencies
    )


class TransactionalRoute(APIRoute):
    """A route whose request owns its transaction (set as `APIRouter(route_class=...)` by `service_router`).

    Only routes that take a `Ctx`/`PublicCtx` get a session; the others run untouched.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _answering(endpoint, kwargs.get("status_code") or 200), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        if not _takes_context(self.dependant):
            return handle
        if self.methods and self.methods <= READ_METHODS:

            async def read(request: Request) -> Response:
                runtime: Runtime = request.app.state.runtime
                async with runtime.read_sessions() as session:
                    request.scope[_SESSION_KEY] = session
                    return await handle(request)

            return read

        async def write(request: Request) -> Response:
            runtime: Runtime = request.app.state.runtime
            async with runtime.sessions() as session:
                request.scope[_SESSION_KEY] = session
                token = write_session_var.set(session)
                try:
                    key = request.headers.get("idempotency-key")
                    if key is not None and request.method == "POST":
                        return await _commit_idempotent(runtime, session, request, key[:200], handle)
                    try:
                        response = await handle(request)
                        await session.commit()
                    except BaseException:
                        await session.rollback()
                        raise
                    return response
                finally:
                    write_session_var.reset(token)

        return write


def service_router(**options: Any) -> APIRouter:
    """An APIRouter whose routes own their transactions (`TransactionalRoute`)."""
    return APIRouter(route_class=TransactionalRoute, **options)


async def _commit_idempotent(
    runtime: "Runtime",
    session: AsyncSession,
    request: Request,
    key: str,
    handle: Callable[[Request], Awaitable[Response]],
) -> Response:
    """Run the write and store its answer under the Idempotency-Key in the same transaction; a repeat replays it."""
    table = runtime.tables.idempotency
    owner = _principal_sub(runtime, request)
    body = await request.body()
    request_hash = hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).hexdigest()
    # A repeat is found in a read session, so the write transaction begins with the handler's own first
    # statement, after any lookups it makes at other services (no remote call inside a transaction).
    async with runtime.read_sessions() as reads:
        stored = await _stored(reads, table, owner, key)
    if stored is not None:
        return _replay(stored, request_hash)
    try:
        response = await handle(request)
        await session.execute(
            table.insert().values(
                principal=owner,
                key=key,
                request_hash=request_hash,
                status_code=response.status_code,
                body=bytes(response.body),
                etag=response.headers.get("etag"),
                created_at=real_now(),
            )
        )
        await session.commit()
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        await session.rollback()
        stored = await _stored(session, table, owner, key)
        await session.rollback()
        if stored is None:
            raise
        return _replay(stored, request_hash)
    except BaseException:
        await session.rollback()
        raise
    return response


def _principal_sub(runtime: "Runtime", request: Request) -> str:
    """Who the key belongs to: the token's subject (checked again by the route's context), else anonymous."""
    header = request.headers.get("authorization")
    if header is None:
        return "anonymous"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be `Bearer <token>`")
    return runtime.tokens.principal(token.strip()).sub


async def _stored(session: AsyncSession, table: Any, owner: str, key: str) -> Any:
    return (await session.execute(select(table).where(and_(table.c.principal == owner, table.c.key == key)))).first()


def _replay(stored: Any, request_hash: str) -> Response:
    if stored.request_hash != request_hash:
        raise Conflict("this Idempotency-Key was already used with a different request")
    headers = {"ETag": stored.etag} if stored.etag else None
    return Response(stored.body, status_code=stored.status_code, media_type="application/json", headers=headers)


def _context(request: Request, credentials: HTTPAuthorizationCredentials | None) -> RequestContext:
    runtime: Runtime = request.app.state.runtime
    session: AsyncSession | None = request.scope.get(_SESSION_KEY)
    if session is None:
        raise RuntimeError("a route taking Ctx must belong to a servicekit.web.service_router (TransactionalRoute)")
    principal = None
    if credentials is not None:
        principal = runtime.tokens.principal(credentials.credentials)
        fields = log_fields_var.get()
        if fields is not None and principal.unit_id:
            fields["unit"] = principal.unit_id
    elif "authorization" in request.headers:
        raise Unauthorized("the Authorization header must be `Bearer <token>`")
    session.info[ACTOR_KEY] = principal.sub if principal else None
    return RequestContext(runtime, session, request, principal)


async def get_context(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> RequestContext:
    """Context for any route; the token is optional but, when sent, must be valid."""
    return _context(request, credentials)


async def get_public_context(request: Request) -> RequestContext:
    """Context for public reads: no token needed (and none documented), but one sent must be valid."""
    header = request.headers.get("authorization")
    credentials = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip())
    return _context(request, credentials)


Ctx = Annotated[RequestContext, Depends(get_context)]
PublicCtx = Annotated[RequestContext, Depends(get_public_context)]
"""For the public reads of API.md §2 (notices, listings, pools, publications, challenges)."""
