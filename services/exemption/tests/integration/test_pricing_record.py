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
        result = (await case.client.get(case.url("/assessment"), headers=case.admin)).json()
        record = [e for e in (await case.get())["evidence"] if e["kind"] == "pricing_record"][0]
        return result if len(record["steps"]) == count else None

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
    assert (await case.post("/decision", case.decision())).status_code == 409
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


class PricingDouble:
    """Stands in for the pricing service's lookups (it is being built concurrently on another branch)."""

    def __init__(self, unit_id: str, reachable: bool = True) -> None:
        self.unit_id = unit_id
        self.reachable = reachable

    def handle(self, request):
        import httpx

        if not self.reachable:
            raise httpx.ConnectError("pricing is down")
        tx = request.url.path.split("/")[4]
        if request.url.path.endswith("/record"):
            items = [{"seq": seq, "at": (T0 + timedelta(days=seq)).isoformat(), "step": step, "actor": "a", "details": details}
                     for seq, step, details in CLEAR_NOTICE]
            return httpx.Response(200, json={"items": items})
        return httpx.Response(200, json={"id": tx, "unit_id": self.unit_id, "state": "concluded"})


async def with_pricing(system: InProcessSystem, double: PricingDouble, action):
    import httpx

    runtime = system.runtime("exemption")
    real = runtime.peers["pricing"]
    runtime.peers["pricing"] = httpx.AsyncClient(transport=httpx.MockTransport(double.handle), base_url="http://pricing")
    try:
        return await action()
    finally:
        await runtime.peers["pricing"].aclose()
        runtime.peers["pricing"] = real


async def test_record_is_backfilled_from_pricing_when_the_case_opens(system: InProcessSystem) -> None:
    unit_id = (await system.register_unit())["id"]
    tx = f"tx-{uuid.uuid4().hex[:8]}"
    case = await with_pricing(system, PricingDouble(unit_id), lambda: open_case(system, unit_id, transaction_id=tx))
    record = [e for e in (await case.get())["evidence"] if e["kind"] == "pricing_record"][0]
    assert len(record["steps"]) == len(CLEAR_NOTICE)
    assert g53((await case.client.get(case.url("/assessment"), headers=case.admin)).json())["status"] == "supported"


async def test_another_units_transaction_is_not_found_and_unreachable_pricing_is_tolerated(system: InProcessSystem) -> None:
    unit_id = (await system.register_unit())["id"]
    body = {"unit_id": unit_id, "subject": {"person_id": "s-1", "name": "张", "role": "manager"},
            "matter": {"summary": "x", "transaction_id": "tx-foreign"}, "claimed_clauses": ["G5.3"]}
    client, headers = system.clients["exemption"], system.auth("unit_admin", unit_id)
    foreign = await with_pricing(system, PricingDouble("other-unit"), lambda: client.post("/api/v1/exemption-cases", json=body, headers=headers))
    assert foreign.status_code == 404
    down = await with_pricing(system, PricingDouble(unit_id, reachable=False), lambda: client.post("/api/v1/exemption-cases", json=body, headers=headers))
    assert down.status_code == 201, down.text
