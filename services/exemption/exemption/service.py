"""Exemption use cases: load → domain decides → save → outbox, in the caller's transaction."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy
from contracts.events import (
    CaseDocumentAttached,
    CaseEscalated,
    CaseOpened,
    ConclusionDelivered,
    ConclusionIssued,
    DeterminationIssued,
    ReviewDecided,
    ReviewRequested,
)
from exemption import records, repository
from exemption.domain import cases as domain
from exemption.domain.assessment import RecordStep, assess
from exemption.domain.cases import Case, DocumentRef, EvidenceFileDraft, SubjectEntryDraft, Viewer
from exemption.models import DOCUMENTS, INFRA, UNIT_POLICIES, ExemptionCase
from exemption.schemas import (
    AssessmentRead,
    CaseCreate,
    CaseRead,
    DecisionCreate,
    DeliveryCreate,
    DeterminationCreate,
    EscalationCreate,
    EvidenceCreate,
    EvidenceRead,
    MatterRead,
    NegativeFindingCreate,
    PanelPut,
    ReviewOutcomeCreate,
    StatementCreate,
    SubjectDraft,
)
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import shanghai_day
from servicekit.documents import StoredDocument, Upload, load_document, read_content, store_document
from servicekit.errors import InvalidInput, NotFound, PolicyViolation, check_version
from servicekit.outbox import EventEmitter, new_id
from servicekit.units import get_unit_policy

if TYPE_CHECKING:
    from servicekit.app import Runtime

SOURCE = "exemption"
SWEEP_BATCH = 100
DOCUMENT_OWNER = "exemption_case"
log = logging.getLogger("kezhuan.exemption")


_emit = EventEmitter(SOURCE, INFRA)


def _viewer(actor: Principal) -> Viewer:
    return Viewer(sub=actor.sub, roles=actor.roles, unit_id=actor.unit_id)


def _load(row: ExemptionCase) -> Case:
    document = dict(row.document)
    document["matter"] = {**document["matter"], "loss_amount": row.loss_amount}
    return Case.model_validate(document)


def _store(row: ExemptionCase, case: Case) -> None:
    """Write the domain case back; money stays in its exact column, not in the JSON document."""
    row.document = case.model_dump(mode="json", exclude={"matter": {"loss_amount"}})
    row.state = case.state
    row.review_deadline = case.review_deadline
    row.loss_amount = case.matter.loss_amount


async def _steps(session: AsyncSession, case: Case) -> list[RecordStep]:
    if case.matter.transaction_id is None:
        return []
    rows = await repository.list_record_steps(session, case.matter.transaction_id, case.unit_id)
    return [RecordStep(seq=r.seq, at=r.at, step=r.step, actor=r.actor, details=r.details) for r in rows]


def _read(row: ExemptionCase, case: Case, steps: list[RecordStep]) -> CaseRead:
    evidence = [EvidenceRead(**e.model_dump()) for e in case.evidence]
    if case.matter.transaction_id is not None:
        evidence.insert(0, EvidenceRead(
            id=f"pricing-record-{case.matter.transaction_id}",
            kind="pricing_record",
            title=f"Procedural record of transaction {case.matter.transaction_id} (PRC-9)",
            reference=case.matter.transaction_id,
            recorded_at=steps[-1].at if steps else None,
            recorded_by="system",
            steps=steps,
        ))
    first = case.subjects[0]
    subject = (SubjectDraft(person_id=first.person_id, name=first.name, role=first.role, leader_rank=first.leader_rank)
               if first.kind == "person" else None)
    return CaseRead(
        id=case.id, unit_id=case.unit_id, state=case.state, closed=case.state in ("closed", "determined"),
        subject=subject, subjects=case.subjects,
        matter=MatterRead(**case.matter.model_dump()), claimed_clauses=case.claimed_clauses, panel=case.panel,
        evidence=evidence, statements=case.statements, negative_findings=case.negative_findings,
        decisions=case.decisions, conclusion=case.conclusion, review_deadline=case.review_deadline,
        reviews=case.reviews, escalation=case.escalation, determination=case.determination,
        closed_reason=case.closed_reason, opened_at=case.opened_at, history=case.history, version=row.version,
    )


async def _visible(
    session: AsyncSession, case_id: str, actor: Principal, now: datetime, *, lock: bool = True
) -> tuple[ExemptionCase, Case, Case]:
    """Load, lock, apply what time made due (EXE-8) and refuse with 404 whoever may not see the case (API.md §5)."""
    row = await repository.get_case(session, case_id, for_update=lock)
    if row is None:
        raise NotFound()
    stored = _load(row)
    current = domain.advance(stored, now)
    if not domain.can_see(current, _viewer(actor)):
        raise NotFound()
    return row, stored, current


async def _save(row: ExemptionCase, stored: Case, updated: Case, session: AsyncSession) -> None:
    if updated != stored:
        _store(row, updated)
        await session.flush()


async def _policy(runtime: "Runtime", case_id: str) -> UnitPolicy:
    """The case's unit's policy (review_request_days EXE-8, min_meeting_attendees EXE-5), read (and looked up if
    not replicated yet) before the write transaction; defaults if unknown."""
    async with runtime.read_sessions() as reads:
        row = await repository.get_case(reads, case_id)
    policy = await get_unit_policy(runtime, UNIT_POLICIES, row.unit_id) if row is not None else None
    return policy or UnitPolicy()


# ---- use cases ------------------------------------------------------------------------------------

def _subjects_of(data: CaseCreate) -> list[SubjectEntryDraft]:
    """EXE-12: `subject` (one person) or `subjects` (several), exactly one of them."""
    if (data.subject is None) == (data.subjects is None):
        raise PolicyViolation("EXE-12", "name the subject with `subject` or several with `subjects` (exactly one of them)")
    if data.subject is not None:
        return [SubjectEntryDraft(kind="person", **data.subject.model_dump())]
    return list(data.subjects or [])


async def open_case(session: AsyncSession, *, runtime: "Runtime", actor: Principal, data: CaseCreate, now: datetime) -> CaseRead:
    """The unit's unit_admin opens a confidential case about its subjects and the clauses claimed (SCO-2, EXE-1/2/12)."""
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, data.unit_id, unit_roles=("unit_admin",))
    case = domain.open_case(
        case_id=new_id(), unit_id=data.unit_id, viewer=_viewer(actor), subjects=_subjects_of(data), matter=data.matter,
        claimed_clauses=data.claimed_clauses, now=now,
    )
    fetched = []
    if case.matter.transaction_id is not None:
        fetched = await records.backfill_pricing_record(runtime, case.matter.transaction_id, case.unit_id)
    if await get_unit_policy(runtime, UNIT_POLICIES, data.unit_id) is None:
        raise NotFound("no such unit")
    for step in fetched:
        await records.record_pricing_step(session, transaction_id=case.matter.transaction_id, unit_id=case.unit_id, step=step)
    row = ExemptionCase(
        id=case.id, unit_id=case.unit_id, subject_person_id=",".join(sorted(case.persons))[:200],
        transaction_id=case.matter.transaction_id, opened_at=now, version=1,
    )
    _store(row, case)
    session.add(row)
    await session.flush()
    await _emit(session, "exemption.case.opened", case.id, CaseOpened(case_id=case.id, unit_id=case.unit_id), now)
    return _read(row, case, await _steps(session, case))


async def get_case(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, now: datetime) -> CaseRead:
    """The case for those entitled to see it as of now (EXE-8): a due closing shows, the sweeper persists it."""
    row, _, current = await _visible(session, case_id, actor, now, lock=False)
    steps, _ = await records.case_record(session, runtime, current)
    return _read(row, current, steps)


async def get_assessment(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, now: datetime) -> AssessmentRead:
    """Prerequisites, claimed clauses (G5.3/G5.4 as the transaction's readiness says, EXE-11/13), allowed conclusions."""
    _, _, current = await _visible(session, case_id, actor, now, lock=False)
    steps, empowered = await records.case_record(session, runtime, current)
    return assess(current, steps, empowered=empowered, now=now)


Action = Callable[[Case, list[RecordStep]], Case]


async def _act(
    session: AsyncSession, *, actor: Principal, case_id: str, expected_version: int | None, now: datetime, action: Action
) -> tuple[ExemptionCase, Case, Case]:
    """Load what the caller may see, check If-Match, let the domain decide, save; (row, before, after)."""
    row, stored, current = await _visible(session, case_id, actor, now)
    check_version(row.version, expected_version)
    steps = await _steps(session, current)
    updated = action(current, steps)
    await _save(row, stored, updated, session)
    return row, current, updated


async def _answer(row: ExemptionCase, case: Case, session: AsyncSession) -> CaseRead:
    return _read(row, case, await _steps(session, case))


async def set_panel(session: AsyncSession, *, actor: Principal, case_id: str, data: PanelPut, expected_version: int | None, now: datetime) -> CaseRead:
    """Form the working group or entrust a third party (EXE-4), every subject recused (EXE-6)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.set_panel(c, viewer=_viewer(actor), panel=data, now=now))
    return await _answer(row, case, session)


async def add_evidence(session: AsyncSession, *, actor: Principal, case_id: str, data: EvidenceCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record a piece of evidence by reference (EXE-5)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.add_evidence(c, viewer=_viewer(actor), evidence_id=new_id(), evidence=data, now=now))
    return await _answer(row, case, session)


async def add_evidence_file(session: AsyncSession, *, actor: Principal, case_id: str, upload: Upload, expected_version: int | None, now: datetime) -> CaseRead:
    """Record a piece of evidence as a file with its SHA-256 (EXE-5, DOC-1); the hash goes into the case's event."""
    document_id = new_id()
    try:
        draft = EvidenceFileDraft(
            kind=upload.fields.get("kind", ""), title=upload.fields.get("title", ""), reference=upload.fields.get("reference"),
            document=DocumentRef(id=document_id, sha256=upload.sha256, size=upload.size, media_type=upload.media_type),
        )
    except ValidationError as exc:
        raise InvalidInput("evidence needs `kind` and `title` beside the file: {errors}", errors="; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    evidence_id = new_id()
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.add_evidence(c, viewer=_viewer(actor), evidence_id=evidence_id, evidence=draft, now=now))
    stored = await store_document(session, DOCUMENTS, upload, owner_kind=DOCUMENT_OWNER, owner_id=case.id, kind=draft.kind,
                                  created_by=actor.sub, now=now, document_id=document_id)
    await _emit(session, "exemption.case.document_attached", case.id, CaseDocumentAttached(
        case_id=case.id, unit_id=case.unit_id, evidence_id=evidence_id, document_id=stored.id, sha256=stored.sha256,
        size=stored.size, media_type=stored.media_type), now)
    return await _answer(row, case, session)


async def get_document(session: AsyncSession, *, actor: Principal, case_id: str, document_id: str, now: datetime) -> tuple[StoredDocument, bytes]:
    """An evidence file, for exactly those who see the case (DOC-1, API.md §5); 404 for anyone else."""
    _, _, case = await _visible(session, case_id, actor, now, lock=False)
    document = await load_document(session, DOCUMENTS, document_id, owner_kind=DOCUMENT_OWNER, owner_id=case.id)
    return document, await read_content(session, DOCUMENTS, document)


async def record_statement(session: AsyncSession, *, actor: Principal, case_id: str, data: StatementCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record a subject's statement or their documented refusal (EXE-5, EXE-12)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.record_statement(c, viewer=_viewer(actor), statement=data, today=shanghai_day(now), now=now))
    return await _answer(row, case, session)


async def record_negative_finding(session: AsyncSession, *, actor: Principal, case_id: str, data: NegativeFindingCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record a confirmed negative-list finding (EXE-3)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.record_negative_finding(c, viewer=_viewer(actor), finding_id=new_id(), finding=data, now=now))
    return await _answer(row, case, session)


async def decide(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, data: DecisionCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """The collective decision (EXE-3/5/6/7), delivered to every subject with its review window (EXE-8)."""
    policy = await _policy(runtime, case_id)
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, steps: domain.decide(
                                  c, viewer=_viewer(actor), draft=data, pricing_steps=len(steps),
                                  review_request_days=policy.review_request_days,
                                  min_attendees=policy.min_meeting_attendees, today=shanghai_day(now), now=now))
    await _emit(session, "exemption.conclusion.issued", case.id,
                ConclusionIssued(case_id=case.id, unit_id=case.unit_id, conclusion=case.conclusion), now)
    return await _answer(row, case, session)


async def deliver(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, data: DeliveryCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record the conclusion's delivery to a subject (or all awaiting it); the review window runs from it (EXE-8)."""
    policy = await _policy(runtime, case_id)
    row, before, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                                   action=lambda c, _: domain.deliver(c, viewer=_viewer(actor), draft=data,
                                                                      review_request_days=policy.review_request_days, now=now))
    previous = {s.id: (s.delivered_at, s.delivery_method) for s in before.subjects}
    for subject in case.subjects:
        if previous[subject.id] != (subject.delivered_at, subject.delivery_method):
            await _emit(session, "exemption.conclusion.delivered", case.id, ConclusionDelivered(
                case_id=case.id, unit_id=case.unit_id, delivered_at=subject.delivered_at.isoformat(),
                review_deadline=subject.review_deadline.isoformat(), subject_id=subject.id), now)
    return await _answer(row, case, session)


async def confirm(session: AsyncSession, *, actor: Principal, case_id: str, subject_id: str | None, expected_version: int | None, now: datetime) -> CaseRead:
    """A subject confirms the conclusion; the case closes once every subject has answered (EXE-8, EXE-12)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.confirm(c, viewer=_viewer(actor), subject_id=subject_id, now=now))
    return await _answer(row, case, session)


async def request_review(session: AsyncSession, *, actor: Principal, case_id: str, grounds: str, subject_id: str | None, expected_version: int | None, now: datetime) -> CaseRead:
    """A subject requests a review within review_request_days from delivery (EXE-8, EXE-12)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.request_review(c, viewer=_viewer(actor), grounds=grounds, subject_id=subject_id, now=now))
    await _emit(session, "exemption.review.requested", case.id, ReviewRequested(case_id=case.id, unit_id=case.unit_id), now)
    return await _answer(row, case, session)


async def decide_review(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, data: ReviewOutcomeCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Re-determine a wrong conclusion, or refuse the review with a written explanation (EXE-9)."""
    policy = await _policy(runtime, case_id)
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, steps: domain.decide_review(
                                  c, viewer=_viewer(actor), outcome=data, pricing_steps=len(steps),
                                  review_request_days=policy.review_request_days,
                                  min_attendees=policy.min_meeting_attendees, today=shanghai_day(now), now=now))
    await _emit(session, "exemption.review.decided", case.id,
                ReviewDecided(case_id=case.id, unit_id=case.unit_id, accepted=data.accepted), now)
    if data.accepted:
        await _emit(session, "exemption.conclusion.issued", case.id,
                    ConclusionIssued(case_id=case.id, unit_id=case.unit_id, conclusion=case.conclusion), now)
    return await _answer(row, case, session)


async def escalate(session: AsyncSession, *, actor: Principal, case_id: str, data: EscalationCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """The unit applies to the provincial S&T office for a joint determination (EXE-10)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.escalate(c, viewer=_viewer(actor), draft=data, now=now))
    await _emit(session, "exemption.case.escalated", case.id, CaseEscalated(case_id=case.id, unit_id=case.unit_id), now)
    return await _answer(row, case, session)


async def determine(session: AsyncSession, *, actor: Principal, case_id: str, data: DeterminationCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """The provincial office records the joint determination by ≥ 2 departments; the case closes (EXE-10)."""
    row, _, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                              action=lambda c, _: domain.determine(c, viewer=_viewer(actor), draft=data, now=now))
    await _emit(session, "exemption.determination.issued", case.id,
                DeterminationIssued(case_id=case.id, unit_id=case.unit_id, conclusion=case.conclusion), now)
    return await _answer(row, case, session)


async def close_expired_review_windows(session: AsyncSession, now: datetime) -> None:
    """Sweeper (EXE-8): once the last review window passed without a request, the conclusion stands; the case closes."""
    for row in await repository.list_cases_past_review_window(session, until=now - domain.WINDOW_GRANULARITY, limit=SWEEP_BATCH):
        stored = _load(row)
        await _save(row, stored, domain.advance(stored, now), session)


