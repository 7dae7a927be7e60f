"""Assessment of a case: prerequisites, each claimed clause, negative findings, allowed conclusions.

G5.3 and G5.4 of a case citing a transaction are decided by the same functions as that transaction's
exemption readiness (EXE-13, `domain/readiness.py`), from its procedural record (EXE-11, M (十四);
PRC-9), so what a unit saw before signing and what the case says afterwards cannot disagree:
readiness `supported` is assessed `supported`; `not_yet` and `not_applicable` are `not_supported`
with the same reasons and what is missing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from exemption.domain.cases import Case, allowed_conclusions, prerequisites
from exemption.domain.clauses import LEADER_MANAGER_CLAUSES, NEGATIVE_CLAUSES, RESEARCHER_CLAUSE, RESEARCHER_CONDITIONS
from exemption.domain.readiness import (
    ClauseReadiness,
    Readiness,
    RecordStep,
    price_fixing_readiness,
    transfer_readiness,
)

__all__ = ["Assessment", "ClauseAssessment", "RecordStep", "assess", "assess_clause", "assess_price_fixing"]

Status = Literal["supported", "not_supported", "needs_judgement"]
DILIGENCE = ("G5.3 further requires that the achievement's value changed considerably later and that the leaders "
             "acted diligently without illegal gain (M (十四)); that remains for the collective decision")


class ClauseAssessment(BaseModel):
    clause: str
    status: Status
    reasons: list[str]
    readiness: Readiness | None = None
    """For a clause decided from the linked transaction's record: its EXE-13 readiness, as the readiness endpoint says."""
    missing: list[str] = []


def _from_readiness(result: ClauseReadiness, *, extra: tuple[str, ...] | list[str] = ()) -> ClauseAssessment:
    status: Status = "supported" if result.status == "supported" else "not_supported"
    return ClauseAssessment(clause=result.clause, status=status, readiness=result.status, missing=result.missing,
                            reasons=[f"EXE-11: {reason}" for reason in result.reasons + result.missing] + list(extra))


def assess_price_fixing(steps: list[RecordStep], now: datetime) -> ClauseAssessment:
    """EXE-11 / G5.3 from the pricing record: supported only when the price was fixed by an open procedure."""
    result = price_fixing_readiness(steps, now)
    return _from_readiness(result, extra=[DILIGENCE] if result.status == "supported" else [])


def assess_clause(case: Case, clause: str, steps: list[RecordStep], *, empowered: bool, now: datetime) -> ClauseAssessment:
    """One claimed clause: G5.3/G5.4 from the linked transaction's record, the rest for judgement."""
    linked = case.matter.transaction_id is not None
    if clause in ("G5.3", "G5.4") and linked and not steps:
        return ClauseAssessment(clause=clause, status="needs_judgement", reasons=[
            "EXE-11: the linked transaction's procedural record has not arrived yet"
        ])
    if clause == "G5.3" and linked:
        result = price_fixing_readiness(steps, now)
        return _from_readiness(result, extra=[DILIGENCE] if result.status == "supported" else [])
    if clause == "G5.4" and linked:
        return _from_readiness(transfer_readiness(steps, empowered=empowered))
    if clause == RESEARCHER_CLAUSE:
        return ClauseAssessment(clause=clause, status="needs_judgement", reasons=[
            "EXE-2 (G art. 6) requires that the researcher " + "; ".join(RESEARCHER_CONDITIONS)
        ])
    reasons = [f"EXE-1 (G art. 5): {LEADER_MANAGER_CLAUSES[clause]}", "the subject must have acted diligently (勤勉尽责)"]
    if clause == "G5.3":
        reasons.insert(1, "no transaction is linked, so the price-fixing procedure must be judged from the evidence")
    return ClauseAssessment(clause=clause, status="needs_judgement", reasons=reasons)


class Assessment(BaseModel):
    prerequisites: dict[str, bool]
    clauses: list[ClauseAssessment]
    negative_findings: list[dict[str, str | None]]
    allowed_conclusions: list[str]


def assess(case: Case, steps: list[RecordStep], *, empowered: bool = False, now: datetime) -> Assessment:
    """The whole assessment (EXE-1/2/3/5/11, EXE-13 for a linked transaction)."""
    return Assessment(
        prerequisites=prerequisites(case, pricing_steps=len(steps)),
        clauses=[assess_clause(case, clause, steps, empowered=empowered, now=now) for clause in case.claimed_clauses],
        negative_findings=[
            {"id": f.id, "clause": f.clause, "title": NEGATIVE_CLAUSES[f.clause], "finding": f.finding,
             "subject_id": f.subject_id}
            for f in case.negative_findings
        ],
        allowed_conclusions=allowed_conclusions(case, pricing_steps=len(steps)),
    )
