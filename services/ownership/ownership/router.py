"""Ownership HTTP routes: parse, call one service function, respond."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from ownership import service
from ownership.schemas import UnitCreate, UnitPolicyInput, UnitRead
from servicekit.web import Ctx

router = APIRouter(prefix="/api/v1", tags=["ownership"])


@router.post("/units", status_code=201, response_model=UnitRead, summary="Register a unit (platform_admin)")
async def register_unit(body: UnitCreate, ctx: Ctx) -> Response:
    return await ctx.commit(
        lambda: service.register_unit(ctx.session, actor=ctx.user, data=body, now=ctx.now), status_code=201
    )


@router.get("/units/{unit_id}", response_model=UnitRead, summary="A unit and its policy (any valid token)")
async def get_unit(unit_id: str, ctx: Ctx) -> Response:
    return await ctx.respond(await service.get_unit(ctx.session, actor=ctx.user, unit_id=unit_id))


@router.patch("/units/{unit_id}/policy", response_model=UnitRead, summary="Change the unit's periods (its unit_admin)")
async def change_policy(unit_id: str, body: UnitPolicyInput, ctx: Ctx) -> Response:
    return await ctx.commit(
        lambda: service.change_policy(
            ctx.session,
            actor=ctx.user,
            unit_id=unit_id,
            changes=body,
            expected_version=ctx.expected_version,
            now=ctx.now,
        )
    )
