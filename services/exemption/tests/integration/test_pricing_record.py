"""The pricing record as evidence (contract item 2) and G5.3 computed from it (EXE-11)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from servicekit.testing import InProcessSystem, eventually, publish_event

from .cases import open_case

T0 = datetime(2029, 1, 5, 2, 0, tzinfo=UTC)


def steps(*spec: tuple[str, dict]) -> list[tuple[int, str, dict]]:
    return [(seq, step, details) for seq, (step, details) in enumerate(spec, start=1)]


CLEAR_NOTICE = steps(
    ("opened", {"method": "agreement"}),
    ("appraisal_recorded", {"performed": False}),
    ("notice_published", {"price": "800000.00"}),
    ("notice_closed", {"objected": False}),
    ("concluded", {"basis": "notice_clear", "price": "800000.00"}),
)
OBJECTED_THEN_LISTING_EXPIRED = steps(
    ("opened", {"method": "agreement"}),
    ("notice_published", {"price": "800000.00"}),
    ("objection_received", {}),
    ("notice_closed", {"objected": True}),
    ("listing_published", {"price": "800000.00", "exchange": "辽宁技术交易市场"}),
    ("listing_expired", {}),
    ("concluded", {"basis": "listing_expired", "price": "800000.00"}),
)
NOTICE_NOT_COMPLETED = steps(("opened", {"method": "agreement"}), ("notice_published", {"price": "800000.00"}))


async def publish(nats_url: str, transaction_id: str, unit_id: str, record: list[tuple[int, str, dict]], event_ids: dict | None = None) -> None:
    for seq, step, details in record:
        data = {"transaction_id": transaction_id, "unit_id": unit_id, "achievement_id": "ach-1", "seq": seq,
                "at": (T0 + timedelta(days=seq)).isoformat(), "step": step, "actor": "unit_admin", "details": details}
        await publish_event(nats_url, "pricing.record.appended", transaction_id, data,
                            event_id=(event_ids or {}).get(seq))


async def assessed(case, count: int) -> dict:
    async def ready() -> dict | None:
        # Read the record first: an assessment read before it could predate the last step.
        record = [e for e in (await case.get())["evidence"] if e["kind"] == "pricing_record"][0]
        if len(record["steps"]) != count:
            return None
        return (await case.client.get(case.url("/assessment"), headers=case.admin)).json()

    return await eventually(ready, timeout=5)


def g53(assessment: dict) -> dict:
    return next(c for c in assessment["clauses"] if c["clause"] == "G5.3")


async def test_agreement_deal_after_a_clear_notice_supports_g5_3(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await open_case(system, transaction_id=tx, clauses=["G5.3", "G5.8"])
    await publish(nats_url, tx, case.unit_id, CLEAR_NOTICE)
    result = await assessed(case, len(CLEAR_NOTICE))
    assert g53(result)["status"] == "supported"
    assert "without objection" in " ".join(g53(result)["reasons"])
    assert next(c for c in result["clauses"] if c["clause"] == "G5.8")["status"] == "needs_judgement"
    assert result["prerequisites"] == {"panel": False, "evidence": True, "statement": False}
    assert result["allowed_conclusions"] == []


async def test_objected_notice_then_expired_listing_at_agreement_price_supports_g5_3(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await open_case(system, transaction_id=tx)
    await publish(nats_url, tx, case.unit_id, OBJECTED_THEN_LISTING_EXPIRED)
    assert g53(await assessed(case, len(OBJECTED_THEN_LISTING_EXPIRED)))["status"] == "supported"


async def test_objected_notice_concluded_at_another_price_does_not_support_g5_3(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await open_case(system, transaction_id=tx)
    record = OBJECTED_THEN_LISTING_EXPIRED[:-1] + [(7, "concluded", {"basis": "listing_expired", "price": "500000.00"})]
    await publish(nats_url, tx, case.unit_id, record)
    assert g53(await assessed(case, len(record)))["status"] == "not_supported"


async def test_no_completed_notice_does_not_support_g5_3(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await open_case(system, transaction_id=tx)
    await publish(nats_url, tx, case.unit_id, NOTICE_NOT_COMPLETED)
    assert g53(await assessed(case, len(NOTICE_NOT_COMPLETED)))["status"] == "not_supported"


async def test_record_is_shared_by_cases_idempotent_and_order_independent(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    unit_id = (await system.register_unit())["id"]
    ids = {seq: uuid.uuid4().hex for seq, _, _ in CLEAR_NOTICE}
    # The last steps arrive first, before any case exists, and one is delivered twice.
    await publish(nats_url, tx, unit_id, list(reversed(CLEAR_NOTICE[2:])), ids)
    await publish(nats_url, tx, unit_id, CLEAR_NOTICE[4:], {5: uuid.uuid4().hex})
    first = await open_case(system, unit_id, transaction_id=tx)
    await publish(nats_url, tx, unit_id, CLEAR_NOTICE[:2], ids)
    second = await open_case(system, unit_id, role="manager", clauses=["G5.3"], transaction_id=tx)
    for case in (first, second):
        assert g53(await assessed(case, len(CLEAR_NOTICE)))["status"] == "supported"
    record = [e for e in (await second.get())["evidence"] if e["kind"] == "pricing_record"][0]
    assert [s["seq"] for s in record["steps"]] == [1, 2, 3, 4, 5]
    assert [s["step"] for s in record["steps"]] == [step for _, step, _ in CLEAR_NOTICE]


async def test_pricing_record_counts_as_evidence_for_the_decision(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await open_case(system, transaction_id=tx)
    await case.panel()
    await case.ok("/statements", {"heard_on": "2025-01-10", "summary": "陈述"})
    assert (await case.post("/decision", case.decision())).status_code == 422  # EXE-5: missing input is 422 (second revision)
    await publish(nats_url, tx, case.unit_id, CLEAR_NOTICE)
    result = await assessed(case, len(CLEAR_NOTICE))
    assert result["allowed_conclusions"] == ["meets", "basically_meets", "does_not_meet"]
    assert (await case.decide())["state"] == "awaiting_confirmation"


async def test_another_units_record_steps_never_show(system: InProcessSystem, nats_url: str) -> None:
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await open_case(system, transaction_id=tx)
    await publish(nats_url, tx, "some-other-unit", CLEAR_NOTICE[:1])
    await publish(nats_url, tx, case.unit_id, CLEAR_NOTICE[1:2])
    await assessed(case, 1)
    record = [e for e in (await case.get())["evidence"] if e["kind"] == "pricing_record"][0]
    assert [s["seq"] for s in record["steps"]] == [2]


async def test_case_without_a_transaction_leaves_g5_3_to_judgement(system: InProcessSystem) -> None:
    case = await open_case(system)
    result = (await case.client.get(case.url("/assessment"), headers=case.admin)).json()
    assert g53(result)["status"] == "needs_judgement"
    assert all(e["kind"] != "pricing_record" for e in (await case.get())["evidence"])


async def test_researchers_clause_names_the_conditions_of_exe_2(system: InProcessSystem) -> None:
    case = await open_case(system, role="researcher")
    await case.prepare()
    result = (await case.client.get(case.url("/assessment"), headers=case.subject)).json()
    g6 = result["clauses"][0]
    assert (g6["clause"], g6["status"]) == ("G6", "needs_judgement")
    assert "related-party" in g6["reasons"][0] and "improper benefit" in g6["reasons"][0]
    assert result["allowed_conclusions"] == ["meets", "basically_meets", "does_not_meet"]


class UnreachablePricing:
    """Pricing that cannot be reached: the one case where a fake peer is the point of the test."""

    def handle(self, request):
        import httpx

        raise httpx.ConnectError("pricing is down")


async def with_pricing(system: InProcessSystem, double: UnreachablePricing, action):
    import httpx

    runtime = system.runtime("exemption")
    real = runtime.peers["pricing"]
    runtime.peers["pricing"] = httpx.AsyncClient(transport=httpx.MockTransport(double.handle), base_url="http://pricing")
    try:
        return await action()
    finally:
        await runtime.peers["pricing"].aclose()
        runtime.peers["pricing"] = real


async def concluded_deal(system: InProcessSystem, clock, unit_id: str) -> str:
    """A real agreement deal concluded after a clear notice, through ownership and pricing in-process."""
    admin = system.auth("unit_admin", unit_id)
    achievement = await system.clients["ownership"].post("/api/v1/achievements", headers=admin, json={
        "unit_id": unit_id, "title": "一种电池隔膜", "kind": "patent",
        "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:10]}", "granted_on": "2020-05-01"}],
        "completers": [{"person_id": "p-1", "name": "张三"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
        "ethics_review_required": False,
    })
    assert achievement.status_code == 201, achievement.text
    pricing = system.clients["pricing"]
    opened = await pricing.post("/api/v1/transactions", headers=admin, json={
        "achievement_id": achievement.json()["id"], "kind": "transfer", "method": "agreement", "proposed_price": "800000.00",
        "counterparty": {"name": "沈阳某公司", "credit_code": "91210100MA0000002Y", "kind": "enterprise",
                         "ownership": "wholly_state_owned", "overseas": False},
    })
    assert opened.status_code == 201, opened.text
    tx = opened.json()["id"]
    await clock(T0)
    assert (await pricing.post(f"/api/v1/transactions/{tx}/notice", json={}, headers=admin)).status_code == 201
    await clock(T0 + timedelta(days=16))

    async def notice_clear() -> bool:
        return (await pricing.get(f"/api/v1/transactions/{tx}", headers=admin)).json()["state"] == "notice_clear"

    await eventually(notice_clear, timeout=10)
    conclusion = {"contract_reference": "HT-1", "signed_on": (T0 + timedelta(days=16)).date().isoformat()}
    assert (await pricing.post(f"/api/v1/transactions/{tx}/conclusion", json=conclusion, headers=admin)).status_code == 200
    return tx


async def test_record_is_backfilled_from_pricing_when_the_case_opens(system: InProcessSystem, clock) -> None:
    unit_id = (await system.register_unit())["id"]
    tx = await concluded_deal(system, clock, unit_id)
    case = await open_case(system, unit_id, transaction_id=tx)
    record = [e for e in (await case.get())["evidence"] if e["kind"] == "pricing_record"][0]
    assert [s["step"] for s in record["steps"]][-1] == "concluded"
    assert g53((await case.client.get(case.url("/assessment"), headers=case.admin)).json())["status"] == "supported"


async def test_another_units_transaction_is_not_found_and_unreachable_pricing_is_tolerated(system: InProcessSystem, clock) -> None:
    unit_id, other_unit_id = (await system.register_unit())["id"], (await system.register_unit())["id"]
    foreign_tx = await concluded_deal(system, clock, other_unit_id)
    body = {"unit_id": unit_id, "subject": {"person_id": "s-1", "name": "张", "role": "manager"},
            "matter": {"summary": "x", "transaction_id": foreign_tx}, "claimed_clauses": ["G5.3"]}
    client, headers = system.clients["exemption"], system.auth("unit_admin", unit_id)
    assert (await client.post("/api/v1/exemption-cases", json=body, headers=headers)).status_code == 404
    unknown = {**body, "matter": {**body["matter"], "transaction_id": "tx-unknown-to-pricing"}}
    down = await with_pricing(system, UnreachablePricing(), lambda: client.post("/api/v1/exemption-cases", json=unknown, headers=headers))
    assert down.status_code == 201, down.text
