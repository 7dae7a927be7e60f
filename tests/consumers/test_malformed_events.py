"""Every consumer of every service dead-letters a malformed event: never applied, never lost.

One row per (service, consumer, event type): a valid payload built around a fresh marker, how to
break it, and the table and column where its effect lands. For each row the test publishes the
broken event (a payload that does not parse, or bytes that are no CloudEvent at all) and then a
valid one through the real NATS; once the valid one's effect is visible the broken one was handled
(a consumer takes its events in stream order), so its absence from the effect table and the inbox
is proven, and the dead letter must hold it with its reason and original bytes.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from sqlalchemy import Table, func, select

from contracts.envelope import STREAM, subject_for
from contracts.events import CATALOGUE
from evaluation.consumers import on_event
from evaluation.models import FactRow as EvaluationFact
from evaluation.models import UnitRow as EvaluationUnit
from exemption.models import UNIT_POLICIES as EXEMPTION_UNIT_POLICIES
from exemption.models import EmpoweredAchievement, PricingRecordStep
from finance.models import UNIT_POLICIES as FINANCE_UNIT_POLICIES
from finance.models import Income, InstitutionEvaluation, KnownAchievement, LandedChallenge, Receivable
from ownership.models import ConcludedDeal, PricingTransaction, StateEquity
from pricing.models import UNIT_POLICIES as PRICING_UNIT_POLICIES
from servicekit.testing import InProcessSystem, eventually, publish_event

COUNTERPARTY = {"name": "沈阳新松", "credit_code": "91210100", "kind": "enterprise", "ownership": "other", "overseas": False}


def _deal(marker: str) -> dict[str, Any]:
    return {
        "transaction_id": marker, "unit_id": f"unit-{marker}", "achievement_id": f"ach-{marker}", "kind": "transfer",
        "price": "150000.00", "counterparty": COUNTERPARTY, "basis": "notice_clear",
    }


def _opened(marker: str) -> dict[str, Any]:
    return {
        "transaction_id": marker, "unit_id": f"unit-{marker}", "achievement_id": f"ach-{marker}", "kind": "license",
        "method": "agreement", "licence": {"scope": "exclusive", "start_on": None, "end_on": None},
    }


def _investment(marker: str) -> dict[str, Any]:
    return {
        "investment_id": marker, "unit_id": f"unit-{marker}", "enterprise": COUNTERPARTY,
        "technology_valuation": "800000.00", "cash_amount": "200000.00", "researcher_share_pct": "70.00",
    }


def _unit_registered(marker: str) -> dict[str, Any]:
    return {"unit_id": marker, "name": "大连理工大学", "type": "university", "policy": {"notice_days": 15}}


def _unit_policy_changed(marker: str) -> dict[str, Any]:
    return {"unit_id": marker, "policy": {"notice_days": 20}, "version": 2}


def _record_step(marker: str) -> dict[str, Any]:
    return {
        "transaction_id": marker, "unit_id": f"unit-{marker}", "achievement_id": f"ach-{marker}", "seq": 1,
        "at": "2030-01-01T09:00:00+08:00", "step": "opened", "actor": "unit_admin-1", "details": {},
    }


def _achievement_registered(marker: str) -> dict[str, Any]:
    return {
        "achievement_id": marker, "unit_id": f"unit-{marker}", "title": "一种催化剂", "kind": "patent",
        "completers": [{"person_id": "p-1", "name": "李明"}],
    }


def _achievement_corrected(marker: str) -> dict[str, Any]:
    return {
        "achievement_id": marker, "unit_id": f"unit-{marker}", "reason": "漏报完成人", "changed": ["completers"],
        "completers": [{"person_id": "p-1", "name": "李明"}], "version": 2,
    }


def _institution_evaluated(marker: str) -> dict[str, Any]:
    return {
        "institution_id": marker, "evaluation_id": marker, "kind": "science_park", "name": "科技园", "unit_ids": ["u-1"],
        "year": 2030, "rating": "excellent", "evaluated_by": "省科技厅",
    }


def _equity_transfer(marker: str) -> dict[str, Any]:
    return {
        "equity_transfer_id": marker, "achievement_id": f"ach-{marker}", "unit_id": f"unit-{marker}",
        "mode": "agreed_return", "enterprise": COUNTERPARTY,
    }


def _empowerment(marker: str) -> dict[str, Any]:
    return {"empowerment_id": f"emp-{marker}", "achievement_id": marker, "unit_id": f"unit-{marker}", "type": "ownership"}


def _landed(marker: str) -> dict[str, Any]:
    return {"challenge_id": marker, "landed_on": "2030-06-01"}


def _without(field: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: {key: value for key, value in data.items() if key != field}


def _with(field: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: {**data, field: value}


@dataclass(frozen=True)
class Row:
    """A consumer's event type: a valid payload, how to break it, and where its effect lands."""

    service: str
    consumer: str
    event_type: str
    valid: Callable[[str], dict[str, Any]]
    broken: Callable[[dict[str, Any]], dict[str, Any]]
    effect: Table
    keyed_by: str

    @property
    def id(self) -> str:
        return f"{self.service}-{self.consumer}-{self.event_type}"


ROWS = [
    Row("ownership", "deals", "pricing.deal.concluded", _deal, _with("price", 150000.5), ConcludedDeal.__table__, "transaction_id"),
    Row("ownership", "deals", "pricing.transaction.opened", _opened, _without("kind"), PricingTransaction.__table__, "transaction_id"),
    Row(
        "ownership", "deals", "pricing.record.appended", _record_step, _without("seq"), PricingTransaction.__table__,
        "transaction_id",
    ),
    Row(
        "ownership", "horizontal-investments", "finance.horizontal_investment.recorded", _investment,
        _without("technology_valuation"), StateEquity.__table__, "investment_id",
    ),
    *[
        Row(service, "unit-policies", event_type, valid, broken, table, "unit_id")
        for service, table in (
            ("pricing", PRICING_UNIT_POLICIES), ("exemption", EXEMPTION_UNIT_POLICIES), ("finance", FINANCE_UNIT_POLICIES)
        )
        for event_type, valid, broken in (
            ("ownership.unit.registered", _unit_registered, _with("policy", "fifteen days")),
            ("ownership.unit.policy_changed", _unit_policy_changed, _without("version")),
        )
    ],
    Row(
        "exemption", "pricing-record", "pricing.record.appended", _record_step, _with("at", "yesterday"),
        PricingRecordStep.__table__, "transaction_id",
    ),
    Row(
        "exemption", "empowerments", "ownership.empowerment.granted", _empowerment, _without("type"),
        EmpoweredAchievement.__table__, "achievement_id",
    ),
    Row("finance", "deal-income", "pricing.deal.concluded", _deal, _without("unit_id"), Income.__table__, "transaction_id"),
    Row(
        "finance", "achievement-completers", "ownership.achievement.registered", _achievement_registered,
        _without("title"), KnownAchievement.__table__, "achievement_id",
    ),
    Row(
        "finance", "achievement-completers", "ownership.achievement.corrected", _achievement_corrected,
        _with("completers", "李明"), KnownAchievement.__table__, "achievement_id",
    ),
    Row(
        "finance", "institution-evaluations", "ownership.institution.evaluated", _institution_evaluated,
        _with("year", "二〇三〇"), InstitutionEvaluation.__table__, "institution_id",
    ),
    Row(
        "finance", "agreed-return-receivables", "ownership.equity_transfer.completed", _equity_transfer,
        _without("mode"), Receivable.__table__, "equity_transfer_id",
    ),
    Row(
        "finance", "landed-challenges", "pricing.challenge.landed", _landed, _without("landed_on"),
        LandedChallenge.__table__, "challenge_id",
    ),
    # Evaluation's one consumer takes every catalogued type through one generic handler (EVA-2):
    # a fact-bearing type and a knowledge-bearing one stand for the rest.
    Row("evaluation", "indicators", "ownership.unit.registered", _unit_registered, _with("policy", "fifteen days"),
        EvaluationUnit.__table__, "unit_id"),
    Row("evaluation", "indicators", "pricing.deal.concluded", _deal, _with("price", 150000.5), EvaluationFact.__table__, "ref_id"),
]


async def test_the_table_covers_every_consumer_of_every_service(system: InProcessSystem) -> None:
    """A new consumer (or a new event type of one) fails here until it has its row above."""
    running = {
        (service, runner.spec.name, event_type)
        for service in system.apps
        for runner in system.runtime(service).consumers
        for event_type in runner.spec.event_types
        if service != "evaluation"
    }
    assert running == {(row.service, row.consumer, row.event_type) for row in ROWS if row.service != "evaluation"}
    (evaluation,) = system.runtime("evaluation").consumers
    assert set(evaluation.spec.event_types) == set(CATALOGUE)
    assert {handles.handler for handles in evaluation.spec.handles.values()} == {on_event}


@pytest.mark.parametrize("kind", ["payload", "envelope"])
@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
async def test_a_malformed_event_is_dead_lettered_never_applied_and_the_next_one_is(
    system: InProcessSystem, nats_url: str, row: Row, kind: str
) -> None:
    broken_marker, valid_marker = uuid.uuid4().hex, uuid.uuid4().hex
    if kind == "payload":
        broken_id = await publish_event(nats_url, row.event_type, broken_marker, row.broken(row.valid(broken_marker)))
        raw = None
    else:
        broken_id, raw = broken_marker, f'{{"id": "{broken_marker}", "type": "{row.event_type}", "data": '.encode()
        await _publish_raw(nats_url, row.event_type, raw, broken_id)
    try:
        await _check(system, nats_url, row, kind, broken_id, raw, broken_marker, valid_marker)
    finally:
        if raw is not None:
            await _remove_raw(nats_url, broken_id)


async def _check(
    system: InProcessSystem, nats_url: str, row: Row, kind: str, broken_id: str, raw: bytes | None,
    broken_marker: str, valid_marker: str,
) -> None:
    """Publish the valid event after the broken one; once it is applied, the broken one must be a dead letter only."""
    runtime = system.runtime(row.service)
    durable = f"{row.service}-{row.consumer}"
    valid_id = await publish_event(nats_url, row.event_type, valid_marker, row.valid(valid_marker))

    await eventually(lambda: _effects(runtime, row, valid_marker), timeout=15)
    assert await _effects(runtime, row, broken_marker) == 0
    inbox = runtime.tables.inbox
    async with runtime.sessions() as session:
        seen = set(
            (await session.execute(select(inbox.c.event_id).where(inbox.c.consumer == durable))).scalars().all()
        )
    assert valid_id in seen and broken_id not in seen

    letter = await eventually(lambda: _dead_letter(system, row.service, durable, broken_id), timeout=15)
    assert letter["deliveries"] == 1, "a malformed event is dead-lettered at once, not retried"
    assert letter["event_type"] == row.event_type
    if kind == "payload":
        assert letter["reason"].startswith("MalformedEvent: data is not a valid "), letter["reason"]
        assert letter["envelope"]["data"] == row.broken(row.valid(broken_marker))
        admin = system.auth("platform_admin")
        redrive = await system.clients[row.service].post(f"/api/v1/dead-letters/{letter['id']}/redrive", headers=admin)
        assert redrive.status_code == 409, redrive.text
        assert await _effects(runtime, row, broken_marker) == 0
    else:
        assert raw is not None
        assert letter["reason"].startswith("MalformedEvent: not a CloudEvent"), letter["reason"]
        assert letter["envelope"] is None and letter["raw"] == raw.decode()


async def _effects(runtime: Any, row: Row, marker: str) -> int:
    async with runtime.sessions() as session:
        return (
            await session.execute(select(func.count()).select_from(row.effect).where(row.effect.c[row.keyed_by] == marker))
        ).scalar_one()


async def _dead_letter(system: InProcessSystem, service: str, durable: str, event_id: str) -> dict[str, Any] | None:
    """The consumer's dead letter of the event, read through the operator endpoint (every page)."""
    admin = system.auth("platform_admin")
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        response = await system.clients[service].get("/api/v1/dead-letters", params=params, headers=admin)
        assert response.status_code == 200, response.text
        page = response.json()
        for letter in page["items"]:
            if letter["consumer"] == durable and letter["event_id"] == event_id:
                return letter
        cursor = page["next_cursor"]
        if cursor is None:
            return None


RAW_SEQUENCES: dict[str, int] = {}
"""Stream sequence of each unreadable message published, so it can be removed afterwards."""


async def _publish_raw(nats_url: str, event_type: str, body: bytes, msg_id: str) -> None:
    """Bytes that are no CloudEvent (cut-off JSON), on the event type's subject."""
    connection = await nats.connect(nats_url)
    try:
        ack = await connection.jetstream().publish(subject_for(event_type), body, headers={"Nats-Msg-Id": msg_id})
        RAW_SEQUENCES[msg_id] = ack.seq
    finally:
        await connection.close()


async def _remove_raw(nats_url: str, msg_id: str) -> None:
    """Take the unreadable message off KEZHUAN again: other tests read those subjects as subscribers do."""
    connection = await nats.connect(nats_url)
    try:
        await connection.jetstream().delete_msg(STREAM, RAW_SEQUENCES.pop(msg_id))
    finally:
        await connection.close()

