"""Ownership HTTP routes: parse, call one service function, respond."""
from __future__ import annotations

from typing import Annotated, Literal, NoReturn

from fastapi import Path

from ownership import service
from ownership.schemas import (
    AchievementCorrection,
    AchievementCreate,
    AchievementRead,
    ComplianceRecordCreate,
    ComplianceRecordRead,
    ConversionCreate,
    EmpowermentCreate,
    EmpowermentRead,
    EquityTransferCreate,
    EquityTransferRead,
    EvaluationCreate,
    EvaluationRead,
    ExtensionCreate,
    InstitutionCreate,
    InstitutionRead,
    PatentChangeCreate,
    PoolExclusionCreate,
    PoolItem,
    PoolPublicationRead,
    RightsRead,
    SeparateLedgerRead,
    SeparateManagementCreate,
    TechnologyManagerCreate,
    TechnologyManagerRead,
    UnitCreate,
    UnitPolicyInput,
    UnitRead,
)
from servicekit.pagination import Cursor, Limit, Page
from servicekit.problems import PROBLEM_RESPONSES
from servicekit.web import Ctx, PublicCtx, service_router

router = service_router(prefix="/api/v1", tags=["ownership"])


@router.post("/units", status_code=201, response_model=UnitRead, summary="Register a unit (platform_admin)")
async def register_unit(body: UnitCreate, ctx: Ctx) -> UnitRead:
    """Register a unit (platform_admin)."""
    return await service.register_unit(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/units/{unit_id}", response_model=UnitRead, summary="A unit and its policy (any valid token)")
async def get_unit(unit_id: str, ctx: Ctx) -> UnitRead:
    """A unit and its policy (any valid token)."""
    return await service.get_unit(ctx.session, actor=ctx.user, unit_id=unit_id)


@router.patch("/units/{unit_id}/policy", response_model=UnitRead, summary="Change the unit's periods (its unit_admin)")
async def change_policy(unit_id: str, body: UnitPolicyInput, ctx: Ctx) -> UnitRead:
    """Change the unit's periods (its unit_admin)."""
    return await service.change_policy(
        ctx.session, actor=ctx.user, unit_id=unit_id, changes=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.get(
    "/units/{unit_id}/separate-ledger",
    response_model=SeparateLedgerRead,
    summary="The unit's separate ledger (OWN-7): separately managed achievements and state equity",
)
async def get_separate_ledger(unit_id: str, ctx: Ctx) -> SeparateLedgerRead:
    """The unit's separate ledger (OWN-7): separately managed achievements and state equity."""
    return await service.get_separate_ledger(ctx.session, actor=ctx.user, unit_id=unit_id)


@router.get("/units/{unit_id}/pool", response_model=Page[PoolItem], summary="The unit's pay-later pool (public, OWN-10)")
async def get_pool(unit_id: str, ctx: PublicCtx, limit: Limit = 50, cursor: Cursor = None) -> Page[PoolItem]:
    """The unit's pay-later pool (public, OWN-10)."""
    return await service.get_pool(ctx.session, unit_id=unit_id, limit=limit, cursor=cursor, now=ctx.now)


@router.post(
    "/units/{unit_id}/pool/publications",
    status_code=201,
    response_model=PoolPublicationRead,
    summary="Publish the pool as the next numbered publication (unit_admin, OWN-10)",
)
async def publish_pool(unit_id: str, ctx: Ctx) -> PoolPublicationRead:
    """Publish the pool as the next numbered publication (unit_admin, OWN-10)."""
    return await service.publish_pool(ctx.session, actor=ctx.user, unit_id=unit_id, now=ctx.now)


@router.get(
    "/units/{unit_id}/pool/publications/{number}",
    response_model=PoolPublicationRead,
    summary="A pool publication, exactly as published (public, OWN-10)",
)
async def get_publication(unit_id: str, number: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: PublicCtx) -> PoolPublicationRead:
    """A pool publication, exactly as published (public, OWN-10)."""
    return await service.get_publication(ctx.session, unit_id=unit_id, number=number)


@router.post("/achievements", status_code=201, response_model=AchievementRead, summary="Register an achievement (unit_admin)")
async def register_achievement(body: AchievementCreate, ctx: Ctx) -> AchievementRead:
    """Register an achievement (unit_admin)."""
    return await service.register_achievement(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/achievements", response_model=Page[AchievementRead], summary="List achievements")
async def list_achievements(
    ctx: Ctx,
    unit_id: str | None = None,
    in_pool: bool | None = None,
    transformed: bool | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AchievementRead]:
    """List achievements."""
    return await service.list_achievements(
        ctx.session, actor=ctx.user, unit_id=unit_id, in_pool=in_pool, transformed=transformed, limit=limit,
        cursor=cursor, now=ctx.now
    )


@router.get("/achievements/{achievement_id}", response_model=AchievementRead, summary="One achievement")
async def get_achievement(achievement_id: str, ctx: Ctx) -> AchievementRead:
    """One achievement."""
    return await service.get_achievement(ctx.session, actor=ctx.user, achievement_id=achievement_id, now=ctx.now)


@router.post(
    "/achievements/{achievement_id}/compliance-records",
    status_code=201,
    response_model=ComplianceRecordRead,
    summary="Record export-control, secrecy, confidentiality or ethics compliance (OWN-13/14/15)",
)
async def add_compliance_record(achievement_id: str, body: ComplianceRecordCreate, ctx: Ctx) -> ComplianceRecordRead:
    """Record export-control, secrecy, confidentiality or ethics compliance (OWN-13/14/15)."""
    return await service.add_compliance_record(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, data=body, now=ctx.now
    )


@router.post(
    "/achievements/{achievement_id}/separate-management",
    response_model=AchievementRead,
    summary="Enter the achievement in the separate ledger (OWN-7, OWN-8, OWN-12)",
)
async def separately_manage(achievement_id: str, body: SeparateManagementCreate, ctx: Ctx) -> AchievementRead:
    """Enter the achievement in the separate ledger (OWN-7, OWN-8, OWN-12)."""
    return await service.separately_manage(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.put(
    "/achievements/{achievement_id}/pool-exclusion",
    response_model=AchievementRead,
    summary="Take the achievement out of the pool, with a reason (OWN-10)",
)
async def exclude_from_pool(achievement_id: str, body: PoolExclusionCreate, ctx: Ctx) -> AchievementRead:
    """Take the achievement out of the pool, with a reason (OWN-10)."""
    return await service.exclude_from_pool(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.delete(
    "/achievements/{achievement_id}/pool-exclusion",
    response_model=AchievementRead,
    summary="Put an excluded achievement back in the pool (OWN-10)",
)
async def restore_to_pool(achievement_id: str, ctx: Ctx) -> AchievementRead:
    """Put an excluded achievement back in the pool (OWN-10)."""
    return await service.restore_to_pool(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(
    "/achievements/{achievement_id}/empowerments",
    status_code=201,
    response_model=EmpowermentRead,
    summary="Grant ownership or a long-term usage right to the team (OWN-1, 2, 5, 6, 12–15)",
)
async def grant_empowerment(achievement_id: str, body: EmpowermentCreate, ctx: Ctx) -> EmpowermentRead:
    """Grant ownership or a long-term usage right to the team (OWN-1, 2, 5, 6, 12–15)."""
    return await service.grant_empowerment(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, data=body, now=ctx.now
    )


@router.get(
    "/achievements/{achievement_id}/empowerments",
    response_model=Page[EmpowermentRead],
    summary="The achievement's empowerments",
)
async def list_empowerments(achievement_id: str, ctx: Ctx, limit: Limit = 50, cursor: Cursor = None) -> Page[EmpowermentRead]:
    """The achievement's empowerments."""
    return await service.list_empowerments(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, limit=limit, cursor=cursor, now=ctx.now
    )


@router.get("/empowerments/{empowerment_id}", response_model=EmpowermentRead, summary="One empowerment")
async def get_empowerment(empowerment_id: str, ctx: Ctx) -> EmpowermentRead:
    """One empowerment."""
    return await service.get_empowerment(ctx.session, actor=ctx.user, empowerment_id=empowerment_id, now=ctx.now)


@router.post(
    "/empowerments/{empowerment_id}/patent-change",
    response_model=EmpowermentRead,
    summary="Register the patent ownership change (OWN-6)",
)
async def register_patent_change(empowerment_id: str, body: PatentChangeCreate, ctx: Ctx) -> EmpowermentRead:
    """Register the patent ownership change (OWN-6)."""
    return await service.register_patent_change(
        ctx.session, actor=ctx.user, empowerment_id=empowerment_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post(
    "/empowerments/{empowerment_id}/extension",
    response_model=EmpowermentRead,
    summary="Extend a usage right (OWN-3)",
)
async def extend_usage_right(empowerment_id: str, body: ExtensionCreate, ctx: Ctx) -> EmpowermentRead:
    """Extend a usage right (OWN-3)."""
    return await service.extend_usage_right(
        ctx.session, actor=ctx.user, empowerment_id=empowerment_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post(
    "/empowerments/{empowerment_id}/conversion",
    response_model=EmpowermentRead,
    summary="Convert a usage right to ownership with both consents (OWN-4)",
)
async def convert_usage_right(empowerment_id: str, body: ConversionCreate, ctx: Ctx) -> EmpowermentRead:
    """Convert a usage right to ownership with both consents (OWN-4)."""
    return await service.convert_usage_right(
        ctx.session, actor=ctx.user, empowerment_id=empowerment_id, data=body, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post(
    "/achievements/{achievement_id}/equity-transfers",
    status_code=201,
    response_model=EquityTransferRead,
    summary="Pass the unit's retained share to the team (OWN-11)",
)
async def transfer_equity(achievement_id: str, body: EquityTransferCreate, ctx: Ctx) -> EquityTransferRead:
    """Pass the unit's retained share to the team (OWN-11)."""
    return await service.transfer_equity(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, data=body, now=ctx.now
    )


@router.post(
    "/achievements/{achievement_id}/pay-later-licences",
    status_code=410,
    response_model=None,
    summary="Gone: pay-later licences are licence transactions in pricing (OWN-9, POST /api/v1/transactions)",
    responses={410: {
        "description": "Gone (OWN-9): open a licence transaction with payment.mode pay_later",
        "content": PROBLEM_RESPONSES[422]["content"],
    }},
)
async def pay_later_licence_gone(achievement_id: str, ctx: Ctx) -> NoReturn:
    """Gone (OWN-9): a pay-later licence is a licence transaction in pricing, `POST /api/v1/transactions`."""
    ctx.user  # noqa: B018 — as documented, the endpoint needs a token: without one it is 401, not 410
    service.refuse_pay_later_licence()


@router.patch(
    "/achievements/{achievement_id}",
    response_model=AchievementRead,
    summary="Correct flags, IP rights, completers, department or field with a reason (unit_admin, OWN-17)",
)
async def correct_achievement(achievement_id: str, body: AchievementCorrection, ctx: Ctx) -> AchievementRead:
    """Correct flags, IP rights, completers, department or field with a reason (unit_admin, OWN-17)."""
    return await service.correct_achievement(
        ctx.session, actor=ctx.user, achievement_id=achievement_id, data=body,
        expected_version=ctx.expected_version, now=ctx.now,
    )


@router.get(
    "/achievements/{achievement_id}/rights",
    response_model=RightsRead,
    summary="Who holds what of the achievement: the rights record (OWN-16, PRC-11)",
)
async def get_rights(achievement_id: str, ctx: Ctx) -> RightsRead:
    """Who holds what of the achievement: the rights record (OWN-16, PRC-11)."""
    return await service.get_rights(ctx.session, actor=ctx.user, achievement_id=achievement_id, now=ctx.now)


@router.post(
    "/institutions",
    status_code=201,
    response_model=InstitutionRead,
    summary="Register a transfer office, science park or incubator (platform_admin; unit_admin: its transfer office; ORG-1)",
)
async def register_institution(body: InstitutionCreate, ctx: Ctx) -> InstitutionRead:
    """Register a transfer office, science park or incubator (ORG-1)."""
    return await service.register_institution(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get("/institutions", response_model=Page[InstitutionRead], summary="Institutions by kind and unit (public, ORG-1)")
async def list_institutions(
    ctx: PublicCtx,
    kind: Literal["transfer_office", "science_park", "incubator"] | None = None,
    unit_id: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InstitutionRead]:
    """Institutions by kind and unit (public, ORG-1)."""
    return await service.list_institutions(ctx.session, kind=kind, unit_id=unit_id, limit=limit, cursor=cursor)


@router.get("/institutions/{institution_id}", response_model=InstitutionRead, summary="One institution (public, ORG-1)")
async def get_institution(institution_id: str, ctx: PublicCtx) -> InstitutionRead:
    """One institution with its evaluations (public, ORG-1)."""
    return await service.get_institution(ctx.session, institution_id=institution_id)


@router.post(
    "/institutions/{institution_id}/evaluations",
    status_code=201,
    response_model=EvaluationRead,
    summary="Record the institution's annual evaluation, one per year (platform_admin, ORG-1)",
)
async def evaluate_institution(institution_id: str, body: EvaluationCreate, ctx: Ctx) -> EvaluationRead:
    """Record the institution's annual evaluation, one per year (platform_admin, ORG-1)."""
    return await service.evaluate_institution(
        ctx.session, actor=ctx.user, institution_id=institution_id, data=body, now=ctx.now
    )


@router.post(
    "/technology-managers",
    status_code=201,
    response_model=TechnologyManagerRead,
    summary="Register a technology manager (platform_admin, or unit_admin for its unit; ORG-2)",
)
async def register_technology_manager(body: TechnologyManagerCreate, ctx: Ctx) -> TechnologyManagerRead:
    """Register a technology manager (platform_admin, or unit_admin for its unit; ORG-2)."""
    return await service.register_technology_manager(ctx.session, actor=ctx.user, data=body, now=ctx.now)


@router.get(
    "/technology-managers/{technology_manager_id}",
    response_model=TechnologyManagerRead,
    summary="A technology manager with the deals naming them (ORG-2, PRC-12)",
)
async def get_technology_manager(technology_manager_id: str, ctx: Ctx) -> TechnologyManagerRead:
    """A technology manager with the count and amount of the deals naming them (ORG-2, PRC-12)."""
    return await service.get_technology_manager(ctx.session, actor=ctx.user, manager_id=technology_manager_id)
