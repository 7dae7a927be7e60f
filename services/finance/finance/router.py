"""Finance HTTP routes: parse, call one service function, respond."""
from __future__ import annotations

from typing import Literal

from finance.schemas import (
    ClaimCreate,
    ClaimRead,
    ContributionCreate,
    ConversionCreate,
    ExitCreate,
    FundCreate,
    FundRead,
    HorizontalInvestmentCreate,
    HorizontalInvestmentRead,
    IncomeRead,
    LedgerEntryRead,
    PaymentCreate,
    PoolContributionCreate,
    PoolCreate,
    PoolRead,
    ProductCreate,
    ProductKind,
    ProductRead,
    ProjectCreate,
    ProjectRead,
    ReceivableRead,
    RewardCreate,
    RewardRead,
    SettlementCreate,
    SubsidyCreate,
    SubsidyRead,
    TrancheCreate,
    TriggerCreate,
    UptakeCreate,
    UptakeRead,
    WaiverCreate,
)
from finance.service import (
    funds,
    horizontal,
    incomes,
    invest_first,
    receivables,
    rewards,
    subsidies,
    support,
)
from servicekit.pagination import Cursor, Limit, Page
from servicekit.web import Ctx, PublicCtx, service_router

router = service_router(prefix="/api/v1", tags=["finance"])


@router.get("/incomes", response_model=Page[IncomeRead], summary="The unit's retained income (FIN-1)")
async def list_incomes(ctx: Ctx, unit_id: str | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[IncomeRead]:
    """The unit's retained income (FIN-1)."""
    return await incomes.list_incomes(ctx.session, actor=ctx.user, unit_id=unit_id, limit=limit, cursor=cursor)


@router.get("/incomes/{income_id}", response_model=IncomeRead, summary="One income entry (FIN-1)")
async def get_income(income_id: str, ctx: Ctx) -> IncomeRead:
    """One income entry (FIN-1)."""
    return await incomes.get_income(ctx.session, actor=ctx.user, income_id=income_id)


@router.post("/rewards", status_code=201, response_model=RewardRead, summary="Reward completers or contributors (unit_admin; FIN-6, FIN-7)")
async def grant_reward(body: RewardCreate, ctx: Ctx) -> RewardRead:
    """Reward completers or contributors (unit_admin; FIN-6, FIN-7)."""
    return await rewards.grant_reward(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/rewards/{reward_id}", response_model=RewardRead, summary="One reward with its recipients")
async def get_reward(reward_id: str, ctx: Ctx) -> RewardRead:
    """One reward with its recipients."""
    return await rewards.get_reward(ctx.session, actor=ctx.user, reward_id=reward_id)


@router.post("/funds", status_code=201, response_model=FundRead, summary="Set up a fund (platform_admin; FIN-3)")
async def create_fund(body: FundCreate, ctx: Ctx) -> FundRead:
    """Set up a fund (platform_admin; FIN-3)."""
    return await funds.create_fund(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.post("/funds/{fund_id}/contributions", status_code=201, response_model=FundRead, summary="Pay into a fund (platform_admin)")
async def contribute(fund_id: str, body: ContributionCreate, ctx: Ctx) -> FundRead:
    """Pay into a fund (platform_admin)."""
    return await funds.contribute(ctx.session, actor=ctx.user, fund_id=fund_id, data=body, expected_version=ctx.expected_version, now=ctx.now)


@router.get("/funds/{fund_id}", response_model=FundRead, summary="A fund's balance (platform_admin, platform_company, department)")
async def get_fund(fund_id: str, ctx: Ctx) -> FundRead:
    """A fund's balance (platform_admin, platform_company, department)."""
    return await funds.get_fund(ctx.session, actor=ctx.user, fund_id=fund_id)


@router.get("/funds/{fund_id}/ledger", response_model=Page[LedgerEntryRead], summary="The fund's append-only ledger (FIN-5)")
async def get_fund_ledger(fund_id: str, ctx: Ctx) -> Page[LedgerEntryRead]:
    """The fund's append-only ledger (FIN-5)."""
    return await funds.get_fund_ledger(ctx.session, actor=ctx.user, fund_id=fund_id)


@router.post("/invest-first-projects", status_code=201, response_model=ProjectRead, summary="Open an invest-first project (platform_company; FIN-3)")
async def create_project(body: ProjectCreate, ctx: Ctx) -> ProjectRead:
    """Open an invest-first project (platform_company; FIN-3)."""
    return await invest_first.create_project(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/invest-first-projects/{project_id}", response_model=ProjectRead, summary="An invest-first project")
async def get_project(project_id: str, ctx: Ctx) -> ProjectRead:
    """An invest-first project."""
    return await invest_first.get_project(ctx.session, actor=ctx.user, project_id=project_id)


@router.post("/invest-first-projects/{project_id}/tranches", status_code=201, response_model=ProjectRead, summary="Disburse a stage's funding (FIN-3)")
async def disburse_tranche(project_id: str, body: TrancheCreate, ctx: Ctx) -> ProjectRead:
    """Disburse a stage's funding (FIN-3)."""
    return await invest_first.disburse_tranche(
        ctx.session, actor=ctx.user, project_id=project_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/invest-first-projects/{project_id}/conversion", response_model=ProjectRead, summary="Convert the investment to equity (FIN-4)")
async def convert_to_equity(project_id: str, body: ConversionCreate, ctx: Ctx) -> ProjectRead:
    """Convert the investment to equity (FIN-4)."""
    return await invest_first.convert_to_equity(
        ctx.session, actor=ctx.user, project_id=project_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/invest-first-projects/{project_id}/exits", status_code=201, response_model=ProjectRead, summary="Exit part of the stake (FIN-5)")
async def record_exit(project_id: str, body: ExitCreate, ctx: Ctx) -> ProjectRead:
    """Exit part of the stake (FIN-5)."""
    return await invest_first.record_exit(
        ctx.session, actor=ctx.user, project_id=project_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/horizontal-investments", status_code=201, response_model=HorizontalInvestmentRead, summary="Invest horizontal-project surplus funds in an achievement (unit_admin; FIN-2)")
async def record_horizontal_investment(body: HorizontalInvestmentCreate, ctx: Ctx) -> HorizontalInvestmentRead:
    """Invest horizontal-project surplus funds in an achievement (unit_admin; FIN-2)."""
    return await horizontal.record_horizontal_investment(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/horizontal-investments/{investment_id}", response_model=HorizontalInvestmentRead, summary="One horizontal-fund investment")
async def get_horizontal_investment(investment_id: str, ctx: Ctx) -> HorizontalInvestmentRead:
    """One horizontal-fund investment."""
    return await horizontal.get_horizontal_investment(ctx.session, actor=ctx.user, investment_id=investment_id)


@router.post("/subsidies", status_code=201, response_model=SubsidyRead, summary="Grant a reward-type post-subsidy (platform_admin; FIN-8)")
async def grant_subsidy(body: SubsidyCreate, ctx: Ctx) -> SubsidyRead:
    """Grant a reward-type post-subsidy (platform_admin; FIN-8)."""
    return await subsidies.grant_subsidy(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/subsidies", response_model=Page[SubsidyRead], summary="Post-subsidies granted (platform_admin, department)")
async def list_subsidies(
    ctx: Ctx,
    kind: Literal["challenge_award", "science_park", "incubator"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SubsidyRead]:
    """Post-subsidies granted (platform_admin, department)."""
    return await subsidies.list_subsidies(ctx.session, actor=ctx.user, kind=kind, limit=limit, cursor=cursor)


@router.get("/subsidies/{subsidy_id}", response_model=SubsidyRead, summary="One post-subsidy")
async def get_subsidy(subsidy_id: str, ctx: Ctx) -> SubsidyRead:
    """One post-subsidy."""
    return await subsidies.get_subsidy(ctx.session, actor=ctx.user, subsidy_id=subsidy_id)


@router.get("/receivables", response_model=Page[ReceivableRead], summary="Agreed-return and pay-later receivables (unit_admin; FIN-9, FIN-10)")
async def list_receivables(ctx: Ctx, unit_id: str | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[ReceivableRead]:
    """Agreed-return and pay-later receivables (unit_admin; FIN-9, FIN-10)."""
    return await receivables.list_receivables(ctx.session, actor=ctx.user, unit_id=unit_id, limit=limit, cursor=cursor, now=ctx.now)


@router.get("/receivables/{receivable_id}", response_model=ReceivableRead, summary="One receivable, in its state as of now")
async def get_receivable(receivable_id: str, ctx: Ctx) -> ReceivableRead:
    """One receivable, in its state as of now."""
    return await receivables.get_receivable(ctx.session, actor=ctx.user, receivable_id=receivable_id, now=ctx.now)


@router.post("/receivables/{receivable_id}/trigger", response_model=ReceivableRead, summary="Listing or equity transfer: the return falls due (FIN-9)")
async def trigger_receivable(receivable_id: str, body: TriggerCreate, ctx: Ctx) -> ReceivableRead:
    """Listing or equity transfer: the return falls due (FIN-9)."""
    return await receivables.trigger_receivable_due(
        ctx.session, actor=ctx.user, receivable_id=receivable_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/receivables/{receivable_id}/settlement", response_model=ReceivableRead, summary="The agreed return was received: income agreed_return (FIN-9, FIN-1)")
async def settle_receivable(receivable_id: str, body: SettlementCreate, ctx: Ctx) -> ReceivableRead:
    """The agreed return was received: income agreed_return (FIN-9, FIN-1)."""
    return await receivables.settle(
        ctx.session, actor=ctx.user, receivable_id=receivable_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/receivables/{receivable_id}/payment", response_model=ReceivableRead, summary="The pay-later fee was paid: income licence_payment (FIN-10, FIN-1)")
async def pay_receivable(receivable_id: str, body: PaymentCreate, ctx: Ctx) -> ReceivableRead:
    """The pay-later fee was paid: income licence_payment (FIN-10, FIN-1)."""
    return await receivables.pay(
        ctx.session, actor=ctx.user, receivable_id=receivable_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/receivables/{receivable_id}/waiver", response_model=ReceivableRead, summary="The unit waives the pay-later fee, with a reason (FIN-10)")
async def waive_receivable(receivable_id: str, body: WaiverCreate, ctx: Ctx) -> ReceivableRead:
    """The unit waives the pay-later fee, with a reason (FIN-10)."""
    return await receivables.waive(
        ctx.session, actor=ctx.user, receivable_id=receivable_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post("/financial-products", status_code=201, response_model=ProductRead, summary="Register a support product (financial_institution; FIN-11)")
async def register_product(body: ProductCreate, ctx: Ctx) -> ProductRead:
    """Register a support product (financial_institution; FIN-11)."""
    return await support.register_product(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/financial-products", response_model=Page[ProductRead], summary="Support products on offer (public; FIN-11)")
async def list_products(ctx: PublicCtx, kind: ProductKind | None = None, limit: Limit = 50, cursor: Cursor = None) -> Page[ProductRead]:
    """Support products on offer (public; FIN-11)."""
    return await support.list_products(ctx.session, kind=kind, limit=limit, cursor=cursor)


@router.get("/financial-products/{product_id}", response_model=ProductRead, summary="One support product (public)")
async def get_product(product_id: str, ctx: PublicCtx) -> ProductRead:
    """One support product (public)."""
    return await support.get_product(ctx.session, product_id=product_id)


@router.post("/financial-products/{product_id}/uptakes", status_code=201, response_model=UptakeRead, summary="An enterprise's uptake for a concluded deal (financial_institution; FIN-11)")
async def record_uptake(product_id: str, body: UptakeCreate, ctx: Ctx) -> UptakeRead:
    """An enterprise's uptake for a concluded deal (financial_institution; FIN-11)."""
    return await support.record_uptake(ctx.session, actor=ctx.user, product_id=product_id, data=body, now=ctx.now)


@router.get("/financial-products/{product_id}/uptakes/{uptake_id}", response_model=UptakeRead, summary="One uptake")
async def get_uptake(product_id: str, uptake_id: str, ctx: Ctx) -> UptakeRead:
    """One uptake."""
    return await support.get_uptake(ctx.session, actor=ctx.user, product_id=product_id, uptake_id=uptake_id)


@router.post("/risk-compensation-pools", status_code=201, response_model=PoolRead, summary="Set up a risk-compensation pool (platform_admin; FIN-11)")
async def create_pool(body: PoolCreate, ctx: Ctx) -> PoolRead:
    """Set up a risk-compensation pool (platform_admin; FIN-11)."""
    return await support.create_pool(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.post("/risk-compensation-pools/{pool_id}/contributions", status_code=201, response_model=PoolRead, summary="Pay into a pool (platform_admin)")
async def contribute_to_pool(pool_id: str, body: PoolContributionCreate, ctx: Ctx) -> PoolRead:
    """Pay into a pool (platform_admin)."""
    return await support.contribute_to_pool(
        ctx.session, actor=ctx.user, pool_id=pool_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.get("/risk-compensation-pools/{pool_id}", response_model=PoolRead, summary="A pool: contributed = compensated + balance (FIN-11)")
async def get_pool(pool_id: str, ctx: Ctx) -> PoolRead:
    """A pool: contributed = compensated + balance (FIN-11)."""
    return await support.get_pool(ctx.session, actor=ctx.user, pool_id=pool_id)


@router.post("/risk-compensation-pools/{pool_id}/claims", status_code=201, response_model=ClaimRead, summary="Compensate a loss, once per uptake (financial_institution; FIN-11)")
async def claim_compensation(pool_id: str, body: ClaimCreate, ctx: Ctx) -> ClaimRead:
    """Compensate a loss, once per uptake (financial_institution; FIN-11)."""
    return await support.claim_compensation(ctx.session, actor=ctx.user, pool_id=pool_id, data=body, now=ctx.now)
