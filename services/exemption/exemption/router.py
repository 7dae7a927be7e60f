"""Exemption HTTP routes: parse, call one service function, respond (API.md §5, confidential)."""
from __future__ import annotations

from exemption import service
from exemption.schemas import (
    AssessmentRead,
    CaseCreate,
    CaseRead,
    DecisionCreate,
    DeterminationCreate,
    Empty,
    EscalationCreate,
    EvidenceCreate,
    NegativeFindingCreate,
    PanelPut,
    ReviewOutcomeCreate,
    ReviewRequestCreate,
    StatementCreate,
)
from servicekit.web import Ctx, service_router

router = service_router(prefix="/api/v1", tags=["exemption"])
CASE = "/exemption-cases/{case_id}"


@router.post("/exemption-cases", status_code=201, response_model=CaseRead, summary="Open a case (unit_admin)")
async def open_case(body: CaseCreate, ctx: Ctx) -> CaseRead:
    """Open a case (unit_admin)."""
    return await service.open_case(ctx.session, runtime=ctx.runtime, actor=ctx.user, data=body, now=ctx.now)


@router.get(CASE, response_model=CaseRead, summary="The case (unit_admin, subject, panel; province once escalated)")
async def get_case(case_id: str, ctx: Ctx) -> CaseRead:
    """The case (unit_admin, subject, panel; province once escalated)."""
    return await service.get_case(ctx.session, actor=ctx.user, case_id=case_id, now=ctx.now)


@router.get(f"{CASE}/assessment", response_model=AssessmentRead, summary="Prerequisites, clauses, allowed conclusions")
async def get_assessment(case_id: str, ctx: Ctx) -> AssessmentRead:
    """Prerequisites, clauses, allowed conclusions."""
    return await service.get_assessment(ctx.session, actor=ctx.user, case_id=case_id, now=ctx.now)


@router.put(f"{CASE}/panel", response_model=CaseRead, summary="Working group or third party (EXE-4, EXE-6)")
async def set_panel(case_id: str, body: PanelPut, ctx: Ctx) -> CaseRead:
    """Working group or third party (EXE-4, EXE-6)."""
    return await service.set_panel(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/evidence", status_code=201, response_model=CaseRead, summary="Record evidence (EXE-5)")
async def add_evidence(case_id: str, body: EvidenceCreate, ctx: Ctx) -> CaseRead:
    """Record evidence (EXE-5)."""
    return await service.add_evidence(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/statements", status_code=201, response_model=CaseRead, summary="The subject heard, or refusal (EXE-5)")
async def record_statement(case_id: str, body: StatementCreate, ctx: Ctx) -> CaseRead:
    """The subject heard, or refusal (EXE-5)."""
    return await service.record_statement(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/negative-findings", status_code=201, response_model=CaseRead, summary="Negative-list finding (EXE-3)")
async def record_negative_finding(case_id: str, body: NegativeFindingCreate, ctx: Ctx) -> CaseRead:
    """Negative-list finding (EXE-3)."""
    return await service.record_negative_finding(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/decision", response_model=CaseRead, summary="Collective decision (EXE-3/5/6/7)")
async def decide(case_id: str, body: DecisionCreate, ctx: Ctx) -> CaseRead:
    """Collective decision (EXE-3/5/6/7)."""
    return await service.decide(
        ctx.session, runtime=ctx.runtime, actor=ctx.user, case_id=case_id, data=body,
        expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/confirmation", response_model=CaseRead, summary="The subject confirms (EXE-8)")
async def confirm(case_id: str, ctx: Ctx, body: Empty | None = None) -> CaseRead:
    """The subject confirms (EXE-8)."""
    return await service.confirm(
        ctx.session, actor=ctx.user, case_id=case_id, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/review-requests", status_code=201, response_model=CaseRead, summary="The subject requests a review (EXE-8)")
async def request_review(case_id: str, body: ReviewRequestCreate, ctx: Ctx) -> CaseRead:
    """The subject requests a review (EXE-8)."""
    return await service.request_review(
        ctx.session, actor=ctx.user, case_id=case_id, grounds=body.grounds, expected_version=ctx.expected_version,
        now=ctx.now
    )


@router.post(f"{CASE}/review-outcome", response_model=CaseRead, summary="Re-determination or written refusal (EXE-9)")
async def decide_review(case_id: str, body: ReviewOutcomeCreate, ctx: Ctx) -> CaseRead:
    """Re-determination or written refusal (EXE-9)."""
    return await service.decide_review(
        ctx.session, runtime=ctx.runtime, actor=ctx.user, case_id=case_id, data=body,
        expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/escalation", response_model=CaseRead, summary="Application to the provincial S&T office (EXE-10)")
async def escalate(case_id: str, body: EscalationCreate, ctx: Ctx) -> CaseRead:
    """Application to the provincial S&T office (EXE-10)."""
    return await service.escalate(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/department-determination", response_model=CaseRead, summary="Joint determination (provincial_office, EXE-10)")
async def determine(case_id: str, body: DeterminationCreate, ctx: Ctx) -> CaseRead:
    """Joint determination (provincial_office, EXE-10)."""
    return await service.determine(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )
