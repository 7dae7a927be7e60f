"""Evaluation HTTP routes (API.md §6b): parse, call one service function, answer JSON, CSV, XLSX or SVG."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from evaluation import exports, rebuilds, service
from evaluation.schemas import (
    DepartmentPage,
    ProvinceTable,
    RebuildRead,
    ResearcherIndicators,
    TechnologyManagerIndicators,
    UnitIndicators,
)
from servicekit.clock import SHANGHAI
from servicekit.errors import InvalidInput
from servicekit.pagination import Cursor, Limit
from servicekit.web import Ctx, RequestContext, service_router

router = service_router(prefix="/api/v1/evaluation", tags=["evaluation"])

Year = Annotated[int | None, Query(description="the Asia/Shanghai year; default: the current one")]
Format = Annotated[
    Literal["json", "csv", "xlsx"] | None,
    Query(description="`csv` or `xlsx` instead of JSON (an `Accept` header of text/csv or the XLSX type does the same)"),
]
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {exports.CSV_TYPE: {}, exports.XLSX_TYPE: {}}, "description": "JSON, CSV or XLSX"}
}
CHART_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {exports.SVG_TYPE: {}}, "description": "an SVG chart"}
}
Indicator = Annotated[str, Query(description="the indicator to draw, as in the exports' columns (e.g. `deals.transfer`)")]


def _wanted(request: Request, format: str | None) -> str:
    if format is not None:
        return format
    accept = request.headers.get("accept", "")
    if exports.XLSX_TYPE in accept:
        return "xlsx"
    if exports.CSV_TYPE in accept:
        return "csv"
    return "json"


def _answer(ctx: RequestContext, result: BaseModel, rows: list[dict[str, Any]], title: str, format: str | None) -> Any:
    wanted = _wanted(ctx.request, format)
    if wanted == "json":
        return result
    # A header is Latin-1: ids from the path are reduced to a safe ASCII file name (found by schemathesis).
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", title)
    disposition = {"Content-Disposition": f'attachment; filename="{safe}.{wanted}"'}
    if wanted == "csv":
        return Response(exports.to_csv(rows), media_type=f"{exports.CSV_TYPE}; charset=utf-8", headers=disposition)
    return Response(exports.to_xlsx(rows, title), media_type=exports.XLSX_TYPE, headers=disposition)


def _chartable(key: str) -> str:
    if key not in exports.CHARTABLE:
        raise InvalidInput("unknown indicator {key}; use one of the exports' column keys", key=key)
    return key


@router.get("/units/{unit_id}", response_model=UnitIndicators, responses=EXPORT_RESPONSES,
            summary="A unit's transformation indicators for a year (EVA-1)")
async def get_unit_indicators(unit_id: str, ctx: Ctx, year: Year = None, format: Format = None) -> Any:
    """Quantity, quality and benefit indicators of one unit (its unit_admin, department, platform_admin)."""
    result = await service.get_unit_indicators(ctx.session, actor=ctx.user, unit_id=unit_id, year=year, now=ctx.now)
    return _answer(ctx, result, [result.model_dump(mode="json")], f"unit-{unit_id}-{result.year}", format)


@router.get("/units/{unit_id}/departments", response_model=DepartmentPage, responses=EXPORT_RESPONSES,
            summary="A unit's indicators per internal department (EVA-1)")
async def list_department_indicators(
    unit_id: str, ctx: Ctx, year: Year = None, format: Format = None, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    """One row per internal department (院系/内设机构) named on the unit's achievements."""
    result = await service.list_department_indicators(
        ctx.session, actor=ctx.user, unit_id=unit_id, year=year, now=ctx.now, limit=limit, cursor=cursor
    )
    rows = [item.model_dump(mode="json") for item in result.items]
    return _answer(ctx, result, rows, f"unit-{unit_id}-departments", format)


@router.get("/units/{unit_id}/chart", responses=CHART_RESPONSES, response_class=Response,
            summary="SVG chart of a unit's indicators over the years (EVA-2)")
async def get_unit_chart(
    unit_id: str,
    ctx: Ctx,
    indicator: Annotated[list[str] | None, Query(description="indicators to draw (default: deals and deal amount)")] = None,
    since: Annotated[int | None, Query(ge=1949, le=2200, description="first year (default: four years back)")] = None,
) -> Response:
    """A line per indicator, one point per year up to the current one; the title names the unit."""
    actor = ctx.user  # who asks comes first: no token is a 401 before any input is judged
    keys = [_chartable(key) for key in indicator or ["deal_amount", "income_received"]]
    current = ctx.now.astimezone(SHANGHAI).year
    first = since if since is not None else current - 4
    if first > current:
        raise InvalidInput("`since` lies after the current year")
    name, history = await service.get_unit_history(
        ctx.session, actor=actor, unit_id=unit_id, years=range(first, current + 1), now=ctx.now
    )
    return Response(exports.chart_over_years(name or unit_id, history, keys), media_type=exports.SVG_TYPE)


@router.get("/researchers/{person_id}", response_model=ResearcherIndicators, responses=EXPORT_RESPONSES,
            summary="A researcher's indicators: the results of the achievements they completed (EVA-1)")
async def get_researcher_indicators(person_id: str, ctx: Ctx, year: Year = None, format: Format = None) -> Any:
    """For the researcher (token `sub`), their unit's unit_admin, department and platform_admin."""
    result = await service.get_researcher_indicators(ctx.session, actor=ctx.user, person_id=person_id, year=year, now=ctx.now)
    return _answer(ctx, result, [result.model_dump(mode="json")], f"researcher-{person_id}-{result.year}", format)


@router.get("/technology-managers/{manager_id}", response_model=TechnologyManagerIndicators, responses=EXPORT_RESPONSES,
            summary="A technology manager's indicators: the deals naming them (ORG-2, EVA-1)")
async def get_technology_manager_indicators(manager_id: str, ctx: Ctx, year: Year = None, format: Format = None) -> Any:
    """For the manager (token `sub` = their person id), their unit's unit_admin, department and platform_admin."""
    result = await service.get_technology_manager_indicators(
        ctx.session, actor=ctx.user, manager_id=manager_id, year=year, now=ctx.now
    )
    return _answer(ctx, result, [result.model_dump(mode="json")], f"technology-manager-{manager_id}", format)


@router.get("/province", response_model=ProvinceTable, responses=EXPORT_RESPONSES,
            summary="The province's table: one row per unit, with totals (EVA-1)")
async def get_province_table(
    ctx: Ctx, year: Year = None, format: Format = None, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    """For department and platform_admin; the exports hold the page's rows and a last row of totals."""
    result = await service.get_province_table(ctx.session, actor=ctx.user, year=year, now=ctx.now, limit=limit, cursor=cursor)
    rows = [item.model_dump(mode="json") for item in result.items]
    rows.append({"unit_id": "", "unit_name": "全省合计", **result.totals.model_dump(mode="json")})
    return _answer(ctx, result, rows, f"province-{result.year}", format)


@router.get("/province/chart", responses=CHART_RESPONSES, response_class=Response,
            summary="SVG chart ranking the province's units by one indicator (EVA-2)")
async def get_province_chart(ctx: Ctx, indicator: Indicator = "deal_amount", year: Year = None) -> Response:
    """The units ordered by the indicator, for department and platform_admin."""
    actor = ctx.user
    key = _chartable(indicator)
    result = await service.get_province_table(ctx.session, actor=actor, year=year, now=ctx.now, limit=200, cursor=None)
    rows = [item.model_dump(mode="json") for item in result.items]
    return Response(exports.chart_ranking(result.year, rows, key), media_type=exports.SVG_TYPE)


@router.post("/rebuild", status_code=202, response_model=RebuildRead,
             summary="Rebuild the read model from the stream's first message (platform_admin, EVA-2)")
async def request_rebuild(ctx: Ctx) -> Any:
    """Replays the KEZHUAN stream into a fresh model and swaps it in; follow it at `/rebuilds/{id}`."""
    return await rebuilds.request_rebuild(ctx.session, actor=ctx.user, now=ctx.now)


@router.get("/rebuilds/{rebuild_id}", response_model=RebuildRead, summary="A rebuild's progress (platform_admin)")
async def get_rebuild(rebuild_id: str, ctx: Ctx) -> Any:
    """`running` while it replays, `done` once the rebuilt model answers every read."""
    return await rebuilds.get_rebuild(ctx.session, actor=ctx.user, rebuild_id=rebuild_id)
