"""/api/v1/webhooks: thin HTTP over the webhook use cases."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from gateway.routes import WEBHOOKS_PATH
from gateway.webhooks import service
from gateway.webhooks.runtime import WebhookRuntime
from gateway.webhooks.schemas import (
    DeliveryRead,
    DeliveryStatus,
    ReplayRequest,
    ReplayResult,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
)
from servicekit.auth import Principal, decode_token
from servicekit.clock import real_now
from servicekit.errors import Unauthorized
from servicekit.pagination import Cursor, Limit, Page
from servicekit.problems import PROBLEM_RESPONSES
from servicekit.web import READ_METHODS

_bearer = HTTPBearer(auto_error=False, description="JWT (HS256) with sub, roles, unit_id, exp")


class WebhookContext:
    """A request's session and caller; the dependency that makes it owns the transaction."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal


async def _context(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> AsyncIterator[WebhookContext]:
    runtime: WebhookRuntime = request.app.state.webhooks
    if credentials is None:
        raise Unauthorized("this endpoint needs a bearer token")
    principal = decode_token(credentials.credentials, request.app.state.jwt_secret)
    async with runtime.sessions() as session:
        # An error in the route is raised here and the session rolls back; a write that returns commits
        # before its answer is sent (scope="function": this exits as the route returns).
        yield WebhookContext(session, principal)
        if request.method not in READ_METHODS:
            await session.commit()


Ctx = Annotated[WebhookContext, Depends(_context, scope="function")]


def _json(payload: BaseModel, status: int = 200) -> Response:
    return Response(orjson.dumps(payload.model_dump(mode="json")), status_code=status, media_type="application/json")


router = APIRouter(prefix=WEBHOOKS_PATH, tags=["webhooks"], responses=PROBLEM_RESPONSES)


@router.post("", status_code=201, response_model=WebhookCreated, summary="Subscribe a URL to events")
async def create_webhook(ctx: Ctx, body: WebhookCreate) -> Response:
    """Deliver matching events to `url`, signed with the secret in the answer (shown only now)."""
    created = await service.create_subscription(ctx.session, principal=ctx.principal, request=body, now=real_now())
    return _json(created, 201)


@router.get("", response_model=Page[WebhookRead], summary="List webhook subscriptions")
async def list_webhooks(ctx: Ctx, limit: Limit = 50, cursor: Cursor = None) -> Response:
    """Your subscriptions (every one for a platform admin)."""
    return _json(await service.list_subscriptions(ctx.session, principal=ctx.principal, limit=limit, cursor=cursor))


@router.get("/{subscription_id}", response_model=WebhookRead, summary="Read a webhook subscription")
async def get_webhook(ctx: Ctx, subscription_id: str) -> Response:
    """One subscription (without its secret)."""
    return _json(await service.get_subscription(ctx.session, principal=ctx.principal, subscription_id=subscription_id))


@router.delete("/{subscription_id}", status_code=204, summary="Delete a webhook subscription")
async def delete_webhook(ctx: Ctx, subscription_id: str) -> Response:
    """Stop deliveries and drop the delivery log."""
    await service.delete_subscription(ctx.session, principal=ctx.principal, subscription_id=subscription_id)
    return Response(status_code=204)


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryRead], summary="Webhook delivery log")
async def list_webhook_deliveries(
    ctx: Ctx,
    subscription_id: str,
    status: Annotated[DeliveryStatus | None, Query(description="only deliveries in this state")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Per delivery: attempts, last HTTP status and error, next attempt; in event order."""
    page = await service.list_deliveries(
        ctx.session, principal=ctx.principal, subscription_id=subscription_id, status=status, limit=limit, cursor=cursor
    )
    return _json(page)


@router.post(
    "/{subscription_id}/replay", status_code=202, response_model=ReplayResult, summary="Replay events from an instant"
)
async def replay_webhook(ctx: Ctx, subscription_id: str, body: ReplayRequest) -> Response:
    """Deliver again, in the original order, every matching event published at or after `since`."""
    enqueued = await service.replay(
        ctx.session, principal=ctx.principal, subscription_id=subscription_id, since=body.since, now=real_now()
    )
    return _json(ReplayResult(since=body.since, enqueued=enqueued), 202)
