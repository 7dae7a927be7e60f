"""No request to finance, however malformed, yields a 5xx; idempotent POSTs do nothing twice."""
from __future__ import annotations

import uuid

from servicekit.testing import InProcessSystem

BIG = "999999999999999.99"


async def test_hostile_finance_requests_get_a_problem_never_a_5xx(system: InProcessSystem) -> None:
    client = system.clients["finance"]
    admin, company = system.auth("platform_admin"), system.auth("platform_company")
    fund = (await client.post("/api/v1/funds", json={"name": "f", "contribution": BIG}, headers=admin)).json()
    cases = [
        (client.post("/api/v1/funds", content=b"{nope", headers={**admin, "Content-Type": "application/json"}), 422),
        (client.post("/api/v1/funds", json={"name": "f", "contribution": "1.001"}, headers=admin), 422),
        (client.post("/api/v1/funds", json={"name": "f", "contribution": "1.00", "extra": 1}, headers=admin), 422),
        (client.post("/api/v1/funds", json={"name": "f", "contribution": "-1.00"}, headers=admin), 422),
        (client.post("/api/v1/funds", json=[], headers=admin), 422),
        *[
            (client.post(f"/api/v1/funds/{fund['id']}/contributions", json={"amount": BIG, "source": "x"}, headers=admin), expected)
            for expected in (201,) * 9 + (422,)
        ],
        (client.post("/api/v1/invest-first-projects/nope/tranches", json={"stage": "pilot", "amount": "1.00"}, headers=company), 404),
        (client.post("/api/v1/invest-first-projects/nope/exits", json={"equity_pct": "1.00", "proceeds": "1.00"}, headers=company), 404),
        (client.post("/api/v1/subsidies", json={"kind": "incubator", "recipient": {}, "amount": "1.00", "basis_reference": "x"}, headers=admin), 422),
        (client.post("/api/v1/rewards", json={"unit_id": "u", "recipients": []}, headers=system.auth("unit_admin", "u")), 422),
        (client.post("/api/v1/receivables/nope/trigger", json={"event": "listing", "amount": "1.00"}, headers=system.auth("unit_admin", "u")), 404),
        (client.get("/api/v1/receivables", headers=system.auth("enterprise")), 403),
        (client.get("/api/v1/subsidies", params={"kind": "lottery"}, headers=admin), 422),
        (client.post("/api/v1/subsidies", json={"kind": "challenge_award", "recipient": {"name": "n", "credit_code": "c"}, "amount": "1.00",
                                                "basis_reference": "a\x01/../../internal"}, headers=admin), 422),
        (client.post("/api/v1/subsidies", json={"kind": "science_park", "recipient": {"name": "n", "credit_code": "c"}, "amount": "1.00",
                                                "basis_reference": "b", "institution_id": "i", "evaluation_year": "2030x"}, headers=admin), 422),
        (client.post("/api/v1/receivables/nope/payment", json={"amount": 1, "paid_on": "2030-01-01"}, headers=system.auth("unit_admin", "u")), 422),
        (client.post("/api/v1/receivables/nope/payment", json={"amount": "1.00", "paid_on": "2030-02-30"}, headers=system.auth("unit_admin", "u")), 422),
        (client.post("/api/v1/receivables/nope/waiver", json={"decision": {"body": "b"}, "reason": "r"}, headers=system.auth("unit_admin", "u")), 422),
        (client.post("/api/v1/receivables/nope/settlement", json={}, headers=system.auth("unit_admin", "u")), 422),
        (client.get("/api/v1/receivables/nope", headers=system.auth("unit_admin", "u")), 404),
        (client.post("/api/v1/financial-products", json={"kind": "guarantee", "name": "", "provider": {}, "terms": 5},
                     headers=system.auth("financial_institution")), 422),
        (client.post("/api/v1/financial-products/nope/uptakes", json={"enterprise": {"name": "e", "credit_code": "c"}, "transaction_id": "t",
                                                                    "amount": "1.00", "start_on": "2030-01-01"},
                     headers=system.auth("financial_institution")), 404),
        (client.post("/api/v1/risk-compensation-pools", json={"name": "p", "contribution": "1.00", "ratio_pct": 50}, headers=admin), 422),
        (client.post("/api/v1/risk-compensation-pools", json={"name": "p", "contribution": BIG, "ratio_pct": "150.00"}, headers=admin), 422),
        (client.post("/api/v1/risk-compensation-pools/nope/claims", json={"uptake_id": "u", "loss_amount": "1.00", "reference": "r"},
                     headers=system.auth("financial_institution")), 404),
        (client.get("/api/v1/risk-compensation-pools/nope", headers=system.auth("enterprise")), 403),
        (client.get("/api/v1/financial-products", params={"kind": "lottery"}), 422),
    ]
    for request, expected in cases:
        response = await request
        assert response.status_code == expected, (expected, response.status_code, response.text)


async def test_same_idempotency_key_creates_one_fund(system: InProcessSystem) -> None:
    client = system.clients["finance"]
    headers = {**system.auth("platform_admin", sub="admin-fin-idem"), "Idempotency-Key": uuid.uuid4().hex}
    body = {"name": f"基金-{uuid.uuid4().hex[:6]}", "contribution": "10.00"}
    first = await client.post("/api/v1/funds", json=body, headers=headers)
    second = await client.post("/api/v1/funds", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.content == second.content
    assert (await client.post("/api/v1/funds", json={**body, "contribution": "11.00"}, headers=headers)).status_code == 409
