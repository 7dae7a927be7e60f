"""Exemption use cases: load → domain decides → save → outbox, in the caller's transaction."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.common import UnitPolicy
from contracts.events import (
    CaseEscalated,
    CaseOpened,
    ConclusionIssued,
    DeterminationIssued,
    ReviewDecided,
    ReviewRequested,
)
from exemption import repository
from exemption.domain import cases as domain
from exemption.domain.assessment import RecordStep, assess
from exemption.domain.cases import Case, Viewer
from exemption.models import INFRA, UNIT_POLICIES, ExemptionCase, PricingRecordStep
from exemption.schemas import (
    AssessmentRead,
    CaseCreate,
    CaseRead,
    DecisionCreate,
    DeterminationCreate,
    EscalationCreate,
    EvidenceCreate,
    EvidenceRead,
    MatterRead,
    NegativeFindingCreate,
    PanelPut,
    ReviewOutcomeCreate,
    StatementCreate,
)
from servicekit.auth import Principal, ensure_unit_access, require_role
from servicekit.clock import shanghai_day
from servicekit.errors import NotFound, UpstreamUnavailable, check_version
from servicekit.outbox import EventEmitter, new_id
from servicekit.units import get_unit_policy

if TYPE_CHECKING:
    from servicekit.app import Runtime

SOURCE = "exemption"
SWEEP_BATCH = 100
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
    return CaseRead(
        id=case.id, unit_id=case.unit_id, state=case.state, subject=case.subject,
        matter=MatterRead(**case.matter.model_dump()), claimed_clauses=case.claimed_clauses, panel=case.panel,
        evidence=evidence, statements=case.statements, negative_findings=case.negative_findings,
        decisions=case.decisions, conclusion=case.conclusion, review_deadline=case.review_deadline,
        reviews=case.reviews, escalation=case.escalation, determination=case.determination,
        closed_reason=case.closed_reason, opened_at=case.opened_at, history=case.history, version=row.version,
    )


async def _visible(
    session: AsyncSession, case_id: str, actor: Principal, now: datetime, *, lock: bool = True
) -> tuple[ExemptionCase, Case, Case]:
    """Load (locked for a write), apply what time made due (EXE-8) and refuse with 404 whoever may not see the case (API.md §5)."""
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


async def _review_request_days(runtime: "Runtime", case_id: str) -> int:
    """The case's unit's review_request_days, read (and looked up if not replicated yet) before the write transaction."""
    async with runtime.read_sessions() as reads:
        row = await repository.get_case(reads, case_id)
    policy = await get_unit_policy(runtime, UNIT_POLICIES, row.unit_id) if row is not None else None
    return (policy or UnitPolicy()).review_request_days


# ---- pricing record (contract item 2) -------------------------------------------------------------

async def record_pricing_step(session: AsyncSession, *, transaction_id: str, unit_id: str | None, step: RecordStep) -> None:
    """Keep one step of a transaction's record; idempotent by (transaction_id, seq), in any order."""
    # One INSERT … ON CONFLICT DO NOTHING: the record is immutable, so a step already stored (by an
    # earlier delivery, the backfill or a concurrent writer) is this one. It replaces a SELECT plus a
    # savepointed ORM insert; exemption stores every step of every deal (bench scenario 3's CPU).
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(PricingRecordStep.__table__)
        .values(transaction_id=transaction_id, seq=step.seq, unit_id=unit_id, at=step.at, step=step.step,
                actor=step.actor, details=step.details)
        .on_conflict_do_nothing(index_elements=["transaction_id", "seq"])
    )


async def _backfill_pricing_record(runtime: "Runtime", transaction_id: str, unit_id: str) -> list[RecordStep]:
    """The record as pricing has it now; empty when pricing is unreachable or does not know it (events fill it)."""
    try:
        transaction = await runtime.lookup("pricing", f"/api/v1/transactions/{transaction_id}")
        if transaction is None:
            return []
        if transaction.get("unit_id") not in (None, unit_id):
            raise NotFound()  # another unit's transaction is not disclosed (API.md §2)
        record = await runtime.lookup("pricing", f"/api/v1/transactions/{transaction_id}/record")
    except UpstreamUnavailable:
        log.warning("pricing unreachable; the record of %s will arrive by events", transaction_id)
        return []
    steps = []
    for index, item in enumerate((record or {}).get("items", []), start=1):
        try:
            steps.append(RecordStep.model_validate({"seq": index, **item}))
        except (ValidationError, TypeError):
            log.warning("skipping a malformed record item of transaction %s", transaction_id)
    return steps


# ---- use cases ------------------------------------------------------------------------------------

async def open_case(session: AsyncSession, *, runtime: "Runtime", actor: Principal, data: CaseCreate, now: datetime) -> CaseRead:
    """The unit's unit_admin opens a confidential case about a subject and the clauses claimed (SCO-2, EXE-1/2)."""
    require_role(actor, "unit_admin")
    ensure_unit_access(actor, data.unit_id, unit_roles=("unit_admin",))
    case = domain.open_case(
        case_id=new_id(), unit_id=data.unit_id, viewer=_viewer(actor), subject=data.subject, matter=data.matter,
        claimed_clauses=data.claimed_clauses, now=now,
    )
    fetched = []
    if case.matter.transaction_id is not None:
        fetched = await _backfill_pricing_record(runtime, case.matter.transaction_id, case.unit_id)
    if await get_unit_policy(runtime, UNIT_POLICIES, data.unit_id) is None:
        raise NotFound("no such unit")
    for step in fetched:
        await record_pricing_step(session, transaction_id=case.matter.transaction_id, unit_id=case.unit_id, step=step)
    row = ExemptionCase(
        id=case.id, unit_id=case.unit_id, subject_person_id=case.subject.person_id,
        transaction_id=case.matter.transaction_id, opened_at=now, version=1,
    )
    _store(row, case)
    session.add(row)
    await session.flush()
    await _emit(session, "exemption.case.opened", case.id, CaseOpened(case_id=case.id, unit_id=case.unit_id), now)
    return _read(row, case, await _steps(session, case))


async def get_case(session: AsyncSession, *, actor: Principal, case_id: str, now: datetime) -> CaseRead:
    """The case for those entitled to see it as of now (EXE-8): a due closing shows, the sweeper persists it."""
    row, _, current = await _visible(session, case_id, actor, now, lock=False)
    return _read(row, current, await _steps(session, current))


async def get_assessment(session: AsyncSession, *, actor: Principal, case_id: str, now: datetime) -> AssessmentRead:
    """Prerequisites, claimed clauses (G5.3 from the pricing record, EXE-11), findings and allowed conclusions, as of now."""
    _, _, current = await _visible(session, case_id, actor, now, lock=False)
    return assess(current, await _steps(session, current))


Action = Callable[[Case, list[RecordStep]], Case]


async def _act(
    session: AsyncSession, *, actor: Principal, case_id: str, expected_version: int | None, now: datetime, action: Action
) -> tuple[ExemptionCase, Case]:
    """Load what the caller may see, check If-Match, let the domain decide, save."""
    row, stored, current = await _visible(session, case_id, actor, now)
    check_version(row.version, expected_version)
    steps = await _steps(session, current)
    updated = action(current, steps)
    await _save(row, stored, updated, session)
    return row, updated


async def set_panel(session: AsyncSession, *, actor: Principal, case_id: str, data: PanelPut, expected_version: int | None, now: datetime) -> CaseRead:
    """Form the working group or entrust a third party (EXE-4), the subject recused (EXE-6)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.set_panel(c, viewer=_viewer(actor), panel=data, now=now))
    return _read(row, case, await _steps(session, case))


async def add_evidence(session: AsyncSession, *, actor: Principal, case_id: str, data: EvidenceCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record a piece of evidence (EXE-5)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.add_evidence(c, viewer=_viewer(actor), evidence_id=new_id(), evidence=data, now=now))
    return _read(row, case, await _steps(session, case))


async def record_statement(session: AsyncSession, *, actor: Principal, case_id: str, data: StatementCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record the subject's statement or their documented refusal (EXE-5)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.record_statement(c, viewer=_viewer(actor), statement=data, today=shanghai_day(now), now=now))
    return _read(row, case, await _steps(session, case))


async def record_negative_finding(session: AsyncSession, *, actor: Principal, case_id: str, data: NegativeFindingCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Record a confirmed negative-list finding (EXE-3)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.record_negative_finding(c, viewer=_viewer(actor), finding_id=new_id(), finding=data, now=now))
    return _read(row, case, await _steps(session, case))


async def decide(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, data: DecisionCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """The collective decision (EXE-3/5/6/7), delivered to the subject with the review deadline (EXE-8)."""
    days = await _review_request_days(runtime, case_id)
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, steps: domain.decide(c, viewer=_viewer(actor), draft=data, pricing_steps=len(steps),
                                                                 review_request_days=days, today=shanghai_day(now), now=now))
    await _emit(session, "exemption.conclusion.issued", case.id,
                ConclusionIssued(case_id=case.id, unit_id=case.unit_id, conclusion=case.conclusion), now)
    return _read(row, case, await _steps(session, case))


async def confirm(session: AsyncSession, *, actor: Principal, case_id: str, expected_version: int | None, now: datetime) -> CaseRead:
    """The subject confirms the conclusion; the case closes (EXE-8)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.confirm(c, viewer=_viewer(actor), now=now))
    return _read(row, case, await _steps(session, case))


async def request_review(session: AsyncSession, *, actor: Principal, case_id: str, grounds: str, expected_version: int | None, now: datetime) -> CaseRead:
    """The subject requests a review within the unit's review_request_days (EXE-8)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.request_review(c, viewer=_viewer(actor), grounds=grounds, now=now))
    await _emit(session, "exemption.review.requested", case.id, ReviewRequested(case_id=case.id, unit_id=case.unit_id), now)
    return _read(row, case, await _steps(session, case))


async def decide_review(session: AsyncSession, *, runtime: "Runtime", actor: Principal, case_id: str, data: ReviewOutcomeCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """Re-determine a wrong conclusion, or refuse the review with a written explanation (EXE-9)."""
    days = await _review_request_days(runtime, case_id)
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, steps: domain.decide_review(c, viewer=_viewer(actor), outcome=data, pricing_steps=len(steps),
                                                                        review_request_days=days, today=shanghai_day(now), now=now))
    await _emit(session, "exemption.review.decided", case.id,
                ReviewDecided(case_id=case.id, unit_id=case.unit_id, accepted=data.accepted), now)
    if data.accepted:
        await _emit(session, "exemption.conclusion.issued", case.id,
                    ConclusionIssued(case_id=case.id, unit_id=case.unit_id, conclusion=case.conclusion), now)
    return _read(row, case, await _steps(session, case))


async def escalate(session: AsyncSession, *, actor: Principal, case_id: str, data: EscalationCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """The unit applies to the provincial S&T office for a joint determination (EXE-10)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.escalate(c, viewer=_viewer(actor), draft=data, now=now))
    await _emit(session, "exemption.case.escalated", case.id, CaseEscalated(case_id=case.id, unit_id=case.unit_id), now)
    return _read(row, case, await _steps(session, case))


async def determine(session: AsyncSession, *, actor: Principal, case_id: str, data: DeterminationCreate, expected_version: int | None, now: datetime) -> CaseRead:
    """The provincial office records the joint determination by ≥ 2 departments; final (EXE-10)."""
    row, case = await _act(session, actor=actor, case_id=case_id, expected_version=expected_version, now=now,
                           action=lambda c, _: domain.determine(c, viewer=_viewer(actor), draft=data, now=now))
    await _emit(session, "exemption.determination.issued", case.id,
                DeterminationIssued(case_id=case.id, unit_id=case.unit_id, conclusion=case.conclusion), now)
    return _read(row, case, await _steps(session, case))


async def close_expired_review_windows(session: AsyncSession, now: datetime) -> None:
    """Sweeper (EXE-8): a conclusion whose review window passed without a request stands; the case closes."""
    for row in await repository.list_cases_past_review_window(session, until=now - domain.WINDOW_GRANULARITY, limit=SWEEP_BATCH):
        stored = _load(row)
        await _save(row, stored, domain.advance(stored, now), session)

