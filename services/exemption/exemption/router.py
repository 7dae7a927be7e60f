"""Exemption HTTP routes: parse, call one service function, respond (API.md §5, confidential)."""
from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from exemption import records, service
from exemption.schemas import (
    AssessmentRead,
    CaseCreate,
    CaseRead,
    ConfirmationCreate,
    DecisionCreate,
    DeliveryCreate,
    DeterminationCreate,
    EscalationCreate,
    EvidenceCreate,
    NegativeFindingCreate,
    PanelPut,
    ReadinessRead,
    ReviewOutcomeCreate,
    ReviewRequestCreate,
    StatementCreate,
)
from servicekit.documents import DOWNLOAD_RESPONSES, document_response, is_multipart, receive_upload, upload_openapi
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
    return await service.get_case(ctx.session, runtime=ctx.runtime, actor=ctx.user, case_id=case_id, now=ctx.now)


@router.get(f"{CASE}/assessment", response_model=AssessmentRead, summary="Prerequisites, clauses, allowed conclusions")
async def get_assessment(case_id: str, ctx: Ctx) -> AssessmentRead:
    """Prerequisites, clauses, allowed conclusions."""
    return await service.get_assessment(ctx.session, runtime=ctx.runtime, actor=ctx.user, case_id=case_id, now=ctx.now)


@router.get("/transactions/{transaction_id}/exemption-readiness", response_model=ReadinessRead,
            summary="Which of G5.3/G5.4 the transaction's record supports, what is missing (unit_admin, EXE-13)")
async def get_readiness(transaction_id: str, ctx: Ctx) -> ReadinessRead:
    """Exemption readiness of a transaction, before or after its deal (unit_admin, EXE-13)."""
    return await records.get_readiness(ctx.session, runtime=ctx.runtime, actor=ctx.user, transaction_id=transaction_id,
                                       now=ctx.now)


@router.put(f"{CASE}/panel", response_model=CaseRead, summary="Working group or third party (EXE-4, EXE-6)")
async def set_panel(case_id: str, body: PanelPut, ctx: Ctx) -> CaseRead:
    """Working group or third party (EXE-4, EXE-6)."""
    return await service.set_panel(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


_EVIDENCE_FILE = upload_openapi({"kind": "document | testimony | record | other", "title": "what it is",
                                 "reference": "optional reference"}, required=("kind", "title"))
_EVIDENCE_FILE["requestBody"]["content"] = {  # JSON first: the first-version clients' body
    "application/json": {"schema": EvidenceCreate.model_json_schema()}, **_EVIDENCE_FILE["requestBody"]["content"]}


@router.post(f"{CASE}/evidence", status_code=201, response_model=CaseRead, openapi_extra=_EVIDENCE_FILE,
             summary="Record evidence: JSON by reference, or multipart with the file (EXE-5, DOC-1)")
async def add_evidence(case_id: str, request: Request, ctx: Ctx) -> CaseRead:
    """Record evidence: JSON by reference, or multipart/form-data with the file beside kind and title (EXE-5, DOC-1)."""
    if is_multipart(request):
        async with receive_upload(request, fields=("kind", "title", "reference")) as upload:
            return await service.add_evidence_file(
                ctx.session, actor=ctx.user, case_id=case_id, upload=upload, expected_version=ctx.expected_version,
                now=ctx.now)
    body = await _json_body(request)
    return await service.add_evidence(
        ctx.session, actor=ctx.user, case_id=case_id, data=body, expected_version=ctx.expected_version, now=ctx.now
    )


async def _json_body(request: Request) -> EvidenceCreate:
    """A JSON body validated as FastAPI would (422 with `errors`), for a route that also takes multipart."""
    try:
        return EvidenceCreate.model_validate_json(await request.body() or b"null")
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


@router.get(f"{CASE}/documents/{{doc_id}}", response_class=Response, responses=DOWNLOAD_RESPONSES,
            summary="An evidence file, for those who see the case (DOC-1); ETag is its SHA-256")
async def get_document(case_id: str, doc_id: str, request: Request, ctx: Ctx) -> Response:
    """An evidence file's bytes, for exactly those who see the case (DOC-1); ETag is its SHA-256."""
    document, content = await service.get_document(ctx.session, actor=ctx.user, case_id=case_id,
                                                   document_id=doc_id, now=ctx.now)
    return document_response(document, content, request)


@router.post(f"{CASE}/delivery", response_model=CaseRead, summary="Delivery of the conclusion to a subject (EXE-8)")
async def deliver(case_id: str, body: DeliveryCreate, ctx: Ctx) -> CaseRead:
    """Record the conclusion's delivery to a subject; its review window runs from it (EXE-8)."""
    return await service.deliver(
        ctx.session, runtime=ctx.runtime, actor=ctx.user, case_id=case_id, data=body,
        expected_version=ctx.expected_version, now=ctx.now
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
async def confirm(case_id: str, ctx: Ctx, body: ConfirmationCreate | None = None) -> CaseRead:
    """A subject confirms (EXE-8); `subject_id` names which when the case has several (EXE-12)."""
    return await service.confirm(
        ctx.session, actor=ctx.user, case_id=case_id, subject_id=body.subject_id if body else None,
        expected_version=ctx.expected_version, now=ctx.now
    )


@router.post(f"{CASE}/review-requests", status_code=201, response_model=CaseRead, summary="The subject requests a review (EXE-8)")
async def request_review(case_id: str, body: ReviewRequestCreate, ctx: Ctx) -> CaseRead:
    """A subject requests a review within its window from delivery (EXE-8, EXE-12)."""
    return await service.request_review(
        ctx.session, actor=ctx.user, case_id=case_id, grounds=body.grounds, subject_id=body.subject_id,
        expected_version=ctx.expected_version, now=ctx.now
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
