"""Assessment of a case: prerequisites, each claimed clause, negative findings, allowed conclusions.

G5.3 is computed from the transaction's procedural record (EXE-11, M (十四); PRC-9): the price
must have been fixed by listing/delisting or auction, or by agreement with a notice that closed
without objection — or, after an objected notice, by a listing nobody took within its period and a
conclusion at the agreement price (PRC-6), which is still a price fixed on a technology market.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel

from exemption.domain.cases import Case, allowed_conclusions, prerequisites
from exemption.domain.clauses import LEADER_MANAGER_CLAUSES, NEGATIVE_CLAUSES, RESEARCHER_CLAUSE, RESEARCHER_CONDITIONS

Status = Literal["supported", "not_supported", "needs_judgement"]


class RecordStep(BaseModel):
    """One step of a transaction's procedural record, as pricing announced it (contract item 2)."""

    seq: int
    at: datetime
    step: str
    actor: str = ""
    details: dict[str, Any] = {}


class ClauseAssessment(BaseModel):
    clause: str
    status: Status
    reasons: list[str]


def _price(details: dict[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(details["price"])) if details.get("price") is not None else None
    except (InvalidOperation, ValueError):
        return None


def assess_price_fixing(steps: list[RecordStep]) -> ClauseAssessment:
    """EXE-11 / G5.3 from the pricing record: supported only when the price was fixed by an open procedure."""
    ordered = sorted(steps, key=lambda s: s.seq)
    concluded = next((s for s in ordered if s.step == "concluded"), None)
    if concluded is None:
        return ClauseAssessment(clause="G5.3", status="not_supported", reasons=[
            "EXE-11: the pricing record shows no concluded deal, so no price was fixed by a completed procedure"
        ])
    closings = [s for s in ordered if s.step == "notice_closed" and s.seq < concluded.seq]
    basis = concluded.details.get("basis")
    if basis == "delisted" or (basis is None and any(s.step == "delisted" for s in ordered)):
        return _supported("the price was fixed by listing on a technology market and delisting (PRC-6/7)")
    if basis == "auction" or (basis is None and any(s.step == "auction_closed" for s in ordered)):
        return _supported("the price was fixed by auction (PRC-8)")
    if basis in ("notice_clear", None) and any(s.details.get("objected") is False for s in closings):
        return _supported("agreement price publicly noticed, and the notice closed without objection (PRC-4/5)")
    if basis in ("listing_expired", None) and any(s.details.get("objected") is True for s in closings):
        return _assess_listing_after_objection(ordered, concluded)
    if not closings:
        return ClauseAssessment(clause="G5.3", status="not_supported", reasons=[
            "EXE-11: the deal was concluded at an agreement price without a completed public notice (PRC-4)"
        ])
    return ClauseAssessment(clause="G5.3", status="not_supported", reasons=[
        f"EXE-11: the record's conclusion (basis {basis!r}) does not follow a notice without objection, "
        "a listing or an auction"
    ])


def _assess_listing_after_objection(ordered: list[RecordStep], concluded: RecordStep) -> ClauseAssessment:
    """PRC-6: objected notice → listing at the agreement price → nobody delisted → concluded at that price."""
    listing = next((s for s in ordered if s.step == "listing_published" and s.seq < concluded.seq), None)
    expired = next((s for s in ordered if s.step == "listing_expired" and s.seq < concluded.seq), None)
    if listing is None or expired is None:
        return ClauseAssessment(clause="G5.3", status="not_supported", reasons=[
            "EXE-11: the notice drew objections and the record shows no listing that expired before the conclusion"
        ])
    notice = next((s for s in ordered if s.step == "notice_published"), None)
    agreement_price = _price(notice.details) if notice is not None else None
    listing_price = _price(listing.details)
    concluded_price = _price(concluded.details)
    expected = agreement_price if agreement_price is not None else listing_price
    if expected is not None and concluded_price is not None and concluded_price != expected:
        return ClauseAssessment(clause="G5.3", status="not_supported", reasons=[
            f"EXE-11: after the expired listing the deal had to be concluded at the agreement price {expected}, "
            f"not {concluded_price} (PRC-6)"
        ])
    return _supported(
        "the notice drew objections, the achievement was listed on a technology market at the agreement price, "
        "nobody delisted within the period and the deal was concluded at the agreement price (PRC-6)"
    )


def _supported(how: str) -> ClauseAssessment:
    return ClauseAssessment(clause="G5.3", status="supported", reasons=[
        f"EXE-11: {how}",
        "G5.3 further requires that the achievement's value changed considerably later and that the leaders "
        "acted diligently without illegal gain (M (十四)); that remains for the collective decision",
    ])


def assess_clause(case: Case, clause: str, steps: list[RecordStep]) -> ClauseAssessment:
    """One claimed clause: G5.3 from the pricing record when a transaction is linked, the rest for judgement."""
    if clause == "G5.3" and case.matter.transaction_id is not None:
        if not steps:
            return ClauseAssessment(clause=clause, status="needs_judgement", reasons=[
                "EXE-11: the linked transaction's procedural record has not arrived yet"
            ])
        return assess_price_fixing(steps)
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
    negative_findings: list[dict[str, str]]
    allowed_conclusions: list[str]


def assess(case: Case, steps: list[RecordStep]) -> Assessment:
    """The whole assessment (EXE-1/2/3/5/11)."""
    return Assessment(
        prerequisites=prerequisites(case, pricing_steps=len(steps)),
        clauses=[assess_clause(case, clause, steps) for clause in case.claimed_clauses],
        negative_findings=[
            {"id": f.id, "clause": f.clause, "title": NEGATIVE_CLAUSES[f.clause], "finding": f.finding}
            for f in case.negative_findings
        ],
        allowed_conclusions=allowed_conclusions(case, pricing_steps=len(steps)),
    )
