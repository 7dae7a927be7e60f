"""Finance HTTP routes: parse, call one service function, respond."""
from __future__ import annotations

from typing import Literal

from finance import service
from finance.schemas import (
    ContributionCreate,
    ConversionCreate,
    ExitCreate,
    FundCreate,
    FundRead,
    HorizontalInvestmentCreate,
    HorizontalInvestmentRead,
    IncomeRead,
    LedgerEntryRead,
    ProjectCreate,
    ProjectRead,
    ReceivableRead,
    RewardCreate,
    RewardRead,
    SubsidyCreate,
    SubsidyRead,
    TrancheCreate,
    TriggerCreate,
)
from servicekit.pagination import Cursor, Limit, Page
from servicekit.web import Ctx, service_router

router = service_router(prefix="/api/v1", tags=["finance"])


@router.get("/incomes", response_model=Page[IncomeRead], summary="The unit's retained income (FIN-1)")
async def list_incomes(ctx: Ctx, unit_id: str | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[IncomeRead]:
    """The unit's retained income (FIN-1)."""
    return await service.list_incomes(ctx.session, actor=ctx.user, unit_id=unit_id, limit=limit, cursor=cursor)


@router.get("/incomes/{income_id}", response_model=IncomeRead, summary="One income entry (FIN-1)")
async def get_income(income_id: str, ctx: Ctx) -> IncomeRead:
    """One income entry (FIN-1)."""
    return await service.get_income(ctx.session, actor=ctx.user, income_id=income_id)


@router.post("/rewards", status_code=201, response_model=RewardRead, summary="Reward contributors (unit_admin; FIN-6, FIN-7)")
async def grant_reward(body: RewardCreate, ctx: Ctx) -> RewardRead:
    """Reward contributors (unit_admin; FIN-6, FIN-7)."""
    return await service.grant_reward(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/rewards/{reward_id}", response_model=RewardRead, summary="One reward with its recipients")
async def get_reward(reward_id: str, ctx: Ctx) -> RewardRead:
    """One reward with its recipients."""
    return await service.get_reward(ctx.session, actor=ctx.user, reward_id=reward_id)


@router.post("/funds", status_code=201, response_model=FundRead, summary="Set up a fund (platform_admin; FIN-3)")
async def create_fund(body: FundCreate, ctx: Ctx) -> FundRead:
    """Set up a fund (platform_admin; FIN-3)."""
    return await service.create_fund(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.post("/funds/{fund_id}/contributions", status_code=201, response_model=FundRead, summary="Pay into a fund (platform_admin)")
async def contribute(fund_id: str, body: ContributionCreate, ctx: Ctx) -> FundRead:
    """Pay into a fund (platform_admin)."""
    return await service.contribute(
        ctx.session, actor=ctx.user, fund_id=fund_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.get("/funds/{fund_id}", response_model=FundRead, summary="A fund's balance (platform_admin, platform_company, department)")
async def get_fund(fund_id: str, ctx: Ctx) -> FundRead:
    """A fund's balance (platform_admin, platform_company, department)."""
    return await service.get_fund(ctx.session, actor=ctx.user, fund_id=fund_id)


@router.get("/funds/{fund_id}/ledger", response_model=Page[LedgerEntryRead], summary="The fund's append-only ledger (FIN-5)")
async def get_fund_ledger(fund_id: str, ctx: Ctx) -> Page[LedgerEntryRead]:
    """The fund's append-only ledger (FIN-5)."""
    return await service.get_fund_ledger(ctx.session, actor=ctx.user, fund_id=fund_id)


@router.post("/invest-first-projects", status_code=201, response_model=ProjectRead, summary="Open an invest-first project (platform_company; FIN-3)")
async def create_project(body: ProjectCreate, ctx: Ctx) -> ProjectRead:
    """Open an invest-first project (platform_company; FIN-3)."""
    return await service.create_project(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/invest-first-projects/{project_id}", response_model=ProjectRead, summary="An invest-first project")
async def get_project(project_id: str, ctx: Ctx) -> ProjectRead:
    """An invest-first project."""
    return await service.get_project(ctx.session, actor=ctx.user, project_id=project_id)


@router.post("/invest-first-projects/{project_id}/tranches", status_code=201, response_model=ProjectRead, summary="Disburse a stage's funding (FIN-3)")
async def disburse_tranche(project_id: str, body: TrancheCreate, ctx: Ctx) -> ProjectRead:
    """Disburse a stage's funding (FIN-3)."""
    return await service.disburse_tranche(
        ctx.session, actor=ctx.user, project_id=project_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post("/invest-first-projects/{project_id}/conversion", response_model=ProjectRead, summary="Convert the investment to equity (FIN-4)")
async def convert_to_equity(project_id: str, body: ConversionCreate, ctx: Ctx) -> ProjectRead:
    """Convert the investment to equity (FIN-4)."""
    return await service.convert_to_equity(
        ctx.session, actor=ctx.user, project_id=project_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post("/invest-first-projects/{project_id}/exits", status_code=201, response_model=ProjectRead, summary="Exit part of the stake (FIN-5)")
async def record_exit(project_id: str, body: ExitCreate, ctx: Ctx) -> ProjectRead:
    """Exit part of the stake (FIN-5)."""
    return await service.record_exit(
        ctx.session, actor=ctx.user, project_id=project_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post("/horizontal-investments", status_code=201, response_model=HorizontalInvestmentRead, summary="Invest horizontal-project surplus funds (unit_admin; FIN-2)")
async def record_horizontal_investment(body: HorizontalInvestmentCreate, ctx: Ctx) -> HorizontalInvestmentRead:
    """Invest horizontal-project surplus funds (unit_admin; FIN-2)."""
    return await service.record_horizontal_investment(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/horizontal-investments/{investment_id}", response_model=HorizontalInvestmentRead, summary="One horizontal-fund investment")
async def get_horizontal_investment(investment_id: str, ctx: Ctx) -> HorizontalInvestmentRead:
    """One horizontal-fund investment."""
    return await service.get_horizontal_investment(ctx.session, actor=ctx.user, investment_id=investment_id)


@router.post("/subsidies", status_code=201, response_model=SubsidyRead, summary="Grant a reward-type post-subsidy (platform_admin; FIN-8)")
async def grant_subsidy(body: SubsidyCreate, ctx: Ctx) -> SubsidyRead:
    """Grant a reward-type post-subsidy (platform_admin; FIN-8)."""
    return await service.grant_subsidy(ctx.session, actor=ctx.user, runtime=ctx.runtime, data=body, now=ctx.now)


@router.get("/subsidies", response_model=Page[SubsidyRead], summary="Post-subsidies granted (platform_admin, department)")
async def list_subsidies(
    ctx: Ctx,
    kind: Literal["challenge_award", "science_park", "incubator"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SubsidyRead]:
    """Post-subsidies granted (platform_admin, department)."""
    return await service.list_subsidies(ctx.session, actor=ctx.user, kind=kind, limit=limit, cursor=cursor)


@router.get("/subsidies/{subsidy_id}", response_model=SubsidyRead, summary="One post-subsidy")
async def get_subsidy(subsidy_id: str, ctx: Ctx) -> SubsidyRead:
    """One post-subsidy."""
    return await service.get_subsidy(ctx.session, actor=ctx.user, subsidy_id=subsidy_id)


@router.get("/receivables", response_model=Page[ReceivableRead], summary="Agreed-return receivables (unit_admin; FIN-9)")
async def list_receivables(ctx: Ctx, unit_id: str | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[ReceivableRead]:
    """Agreed-return receivables (unit_admin; FIN-9)."""
    return await service.list_receivables(ctx.session, actor=ctx.user, unit_id=unit_id, limit=limit, cursor=cursor)


@router.post("/receivables/{receivable_id}/trigger", response_model=ReceivableRead, summary="Listing or equity transfer: the return falls due (FIN-9)")
async def trigger_receivable(receivable_id: str, body: TriggerCreate, ctx: Ctx) -> ReceivableRead:
    """Listing or equity transfer: the return falls due (FIN-9)."""
    return await service.trigger_receivable_due(
        ctx.session, actor=ctx.user, receivable_id=receivable_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post("/receivables/{receivable_id}/settlement", response_model=ReceivableRead, summary="The agreed return was received (FIN-9)")
async def settle_receivable(receivable_id: str, ctx: Ctx) -> ReceivableRead:
    """The agreed return was received (FIN-9)."""
    return await service.settle(
        ctx.session, actor=ctx.user, receivable_id=receivable_id, expected_version=ctx.expected_version, now=ctx.now
    )
