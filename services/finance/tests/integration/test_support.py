"""FIN-11 through HTTP: products by financial institutions, uptakes of concluded deals, risk-compensation pools
that conserve their money, and exactly one compensated claim per uptake even under concurrency."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from finance import repository
from finance.models import PoolLedgerEntry, RiskCompensationPool
from servicekit.testing import InProcessSystem, eventually, publish_event

from .helpers import finance_events, problem

BANK = {"name": "盛京银行股份有限公司", "credit_code": "91210000BANK"}
ENTERPRISE = {"name": "沈阳某科技有限公司", "credit_code": "91210100ENT"}


async def _post(system: InProcessSystem, path: str, body: dict[str, Any], role: str = "financial_institution") -> Any:
    return await system.clients["finance"].post(f"/api/v1{path}", json=body, headers=system.auth(role))


async def _product(system: InProcessSystem, kind: str = "transformation_loan") -> dict[str, Any]:
    response = await _post(system, "/financial-products", {"kind": kind, "name": "科技成果转化贷", "provider": BANK,
                                                           "terms": {"rate_pct": "3.45", "max_term_months": 36}})
    assert response.status_code == 201, response.text
    return response.json()


async def _concluded_deal(system: InProcessSystem, nats_url: str) -> str:
    transaction_id = uuid.uuid4().hex
    await publish_event(
        nats_url, "pricing.deal.concluded", transaction_id,
        {"transaction_id": transaction_id, "unit_id": "u1", "achievement_id": "a1", "kind": "transfer", "price": "500000.00",
         "counterparty": ENTERPRISE, "basis": "notice_clear"},
    )

    async def known() -> bool:
        async with system.runtime("finance").sessions() as session:
            return await repository.get_concluded_deal(session, transaction_id) is not None

    await eventually(known, timeout=10)
    return transaction_id


async def _uptake(system: InProcessSystem, product_id: str, transaction_id: str, amount: str = "1000000.00") -> Any:
    return await _post(system, f"/financial-products/{product_id}/uptakes",
                       {"enterprise": ENTERPRISE, "transaction_id": transaction_id, "amount": amount, "start_on": "2030-03-01"})


async def _pool(system: InProcessSystem, contribution: str, ratio: str = "40.00") -> dict[str, Any]:
    response = await _post(system, "/risk-compensation-pools", {"name": "省科技成果转化风险补偿资金池", "contribution": contribution,
                                                                "ratio_pct": ratio}, role="platform_admin")
    assert response.status_code == 201, response.text
    return response.json()


async def _conserved(system: InProcessSystem, pool_id: str) -> dict[str, Any]:
    """FIN-11: contributed = compensated + balance, in the read, in the row and in the ledger."""
    response = await system.clients["finance"].get(f"/api/v1/risk-compensation-pools/{pool_id}", headers=system.auth("department"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert Decimal(body["contributed"]) == Decimal(body["compensated"]) + Decimal(body["balance"])
    async with system.runtime("finance").sessions() as session:
        pool = (await session.execute(select(RiskCompensationPool).where(RiskCompensationPool.id == pool_id))).scalar_one()
        entries = (await session.execute(select(PoolLedgerEntry).where(PoolLedgerEntry.pool_id == pool_id))).scalars().all()
    total = {kind: sum((e.amount for e in entries if e.kind == kind), Decimal("0.00")) for kind in ("contribution", "compensation")}
    assert (pool.contributed, pool.compensated) == (total["contribution"], total["compensation"])
    assert pool.balance == pool.contributed - pool.compensated >= Decimal("0.00")
    return body


async def test_products_are_registered_by_financial_institutions_and_listed_publicly(system: InProcessSystem) -> None:
    product = await _product(system, "rd_loss_insurance")
    assert (product["kind"], product["provider"]) == ("rd_loss_insurance", BANK)
    assert (await _post(system, "/financial-products", {"kind": "guarantee", "name": "x", "provider": BANK, "terms": "t"},
                        role="enterprise")).status_code == 403
    assert (await _post(system, "/financial-products", {"kind": "lottery", "name": "x", "provider": BANK, "terms": "t"})).status_code == 422
    client = system.clients["finance"]
    listed = await client.get("/api/v1/financial-products", params={"kind": "rd_loss_insurance", "limit": 200})
    assert listed.status_code == 200 and product["id"] in [p["id"] for p in listed.json()["items"]]
    assert "next_cursor" in listed.json()
    assert (await client.get(f"/api/v1/financial-products/{product['id']}")).json() == product


async def test_an_uptake_needs_a_concluded_deal(system: InProcessSystem, nats_url: str) -> None:
    product = await _product(system)
    problem(await _uptake(system, product["id"], uuid.uuid4().hex), 422, "FIN-11")
    transaction_id = await _concluded_deal(system, nats_url)
    accepted = await _uptake(system, product["id"], transaction_id)
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["transaction_id"], accepted.json()["product_kind"]) == (transaction_id, "transformation_loan")
    problem(await _uptake(system, "no-such-product", transaction_id), 404)


async def test_pool_ratio_must_be_above_zero_and_at_most_one_hundred(system: InProcessSystem) -> None:
    for ratio in ("0.00", "100.01"):
        problem(await _post(system, "/risk-compensation-pools", {"name": "p", "contribution": "1.00", "ratio_pct": ratio},
                            role="platform_admin"), 422, "FIN-11")
    await _conserved(system, (await _pool(system, "1.00", "100.00"))["id"])
    await _conserved(system, (await _pool(system, "1.00", "0.01"))["id"])
    assert (await _post(system, "/risk-compensation-pools", {"name": "p", "contribution": "1.00", "ratio_pct": "50.00"})).status_code == 403


async def test_claims_pay_loss_times_ratio_then_what_is_left_once_per_uptake(system: InProcessSystem, nats_url: str) -> None:
    pool = await _pool(system, "100000.00", "40.00")
    transaction_id = await _concluded_deal(system, nats_url)
    loan = await _product(system)
    first, second = [(await _uptake(system, loan["id"], transaction_id)).json() for _ in range(2)]
    claim = await _post(system, f"/risk-compensation-pools/{pool['id']}/claims",
                        {"uptake_id": first["id"], "loss_amount": "200000.00", "reference": "损失认定书-1"})
    assert claim.status_code == 201, claim.text
    assert claim.json()["compensation"] == "80000.00"  # 200,000.00 × 40 %
    problem(await _post(system, f"/risk-compensation-pools/{pool['id']}/claims",
                        {"uptake_id": first["id"], "loss_amount": "1.00", "reference": "again"}), 409, "FIN-11")
    rest = await _post(system, f"/risk-compensation-pools/{pool['id']}/claims",
                       {"uptake_id": second["id"], "loss_amount": "200000.00", "reference": "损失认定书-2"})
    assert rest.json()["compensation"] == "20000.00"  # only the balance is left
    body = await _conserved(system, pool["id"])
    assert (body["contributed"], body["compensated"], body["balance"]) == ("100000.00", "100000.00", "0.00")
    [paid] = await finance_events(system, "finance.risk_compensation.paid", claim.json()["id"])
    assert (paid["data"]["compensation"], paid["data"]["uptake_id"]) == ("80000.00", first["id"])
    topped = await _post(system, f"/risk-compensation-pools/{pool['id']}/contributions", {"amount": "5000.00", "source": "省财政"},
                         role="platform_admin")
    assert topped.status_code == 201 and topped.json()["balance"] == "5000.00"
    await _conserved(system, pool["id"])


async def test_a_guarantee_uptake_is_not_compensated(system: InProcessSystem, nats_url: str) -> None:
    pool = await _pool(system, "1000.00")
    guarantee = await _product(system, "guarantee")
    uptake = (await _uptake(system, guarantee["id"], await _concluded_deal(system, nats_url))).json()
    problem(await _post(system, f"/risk-compensation-pools/{pool['id']}/claims",
                        {"uptake_id": uptake["id"], "loss_amount": "100.00", "reference": "r"}), 422, "FIN-11")
    await _conserved(system, pool["id"])


async def test_twenty_concurrent_claims_on_one_uptake_compensate_exactly_once(system: InProcessSystem, nats_url: str) -> None:
    pool = await _pool(system, "1000000.00", "50.00")
    insurance = await _product(system, "transformation_insurance")
    uptake = (await _uptake(system, insurance["id"], await _concluded_deal(system, nats_url))).json()
    responses = await asyncio.gather(*[
        _post(system, f"/risk-compensation-pools/{pool['id']}/claims",
              {"uptake_id": uptake["id"], "loss_amount": "10000.00", "reference": f"r{i}"})
        for i in range(20)
    ])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 19, [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["rule"] for r in responses if r.status_code == 409} == {"FIN-11"}
    body = await _conserved(system, pool["id"])
    assert (body["compensated"], body["balance"]) == ("5000.00", "995000.00")
    events = [e for e in await finance_events(system, "finance.risk_compensation.paid") if e["data"]["uptake_id"] == uptake["id"]]
    assert len(events) == 1
