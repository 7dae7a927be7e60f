"""Every public endpoint × role × own/other unit against the declared policy (tests/security/policy.py).

The endpoints come from the merged OpenAPI document, so a new endpoint without a policy row fails.
Requests go to the services in-process (the gateway only checks that a token is valid; services
decide access). Bodies are schema-valid instances generated from the document, so a refusal can
only come from access control or the business rules, never from body validation.
"""
from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from gateway.openapi import merge_openapi
from gateway.routes import service_for
from servicekit.clock import real_now
from servicekit.deadletters import publish_dead_letter
from servicekit.testing import InProcessSystem, eventually, publish_event
from tests.security.policy import ANONYMOUS, POLICY, ROLES, expected

METHODS = ("get", "post", "put", "patch", "delete")
PARTY = {"name": "沈阳新材料科技有限公司", "credit_code": "91210100MA0000002Y"}
COUNTERPARTY = {**PARTY, "kind": "enterprise", "ownership": "other", "overseas": False}
DECISION = {"body": "校长办公会", "date": "2030-03-01", "reference": "校发〔2030〕1号"}
SECURITY = {"national_interest": False, "classified": False, "key_core_technology": False}


class Sampler:
    """Minimal schema-valid JSON instances of an OpenAPI document's request bodies."""

    def __init__(self, document: dict[str, Any], overrides: dict[str, Any]) -> None:
        self.schemas = document.get("components", {}).get("schemas", {})
        self.overrides = overrides

    def sample(self, schema: dict[str, Any], name: str = "") -> Any:
        if name in self.overrides:
            return self.overrides[name]
        if "$ref" in schema:
            return self.sample(self.schemas[schema["$ref"].rsplit("/", 1)[-1]], name)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if o.get("type") != "null"]
                return self.sample(options[0], name)
        if "allOf" in schema:
            return self.sample(schema["allOf"][0], name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type", "object")
        if kind == "object":
            properties = schema.get("properties", {})
            return {key: self.sample(properties[key], key) for key in schema.get("required", []) if key in properties}
        if kind == "array":
            return [self.sample(schema.get("items", {}), name) for _ in range(max(1, schema.get("minItems", 1)))]
        if kind == "integer":
            return max(1, schema.get("minimum", 1))
        if kind == "number":
            return 1
        if kind == "boolean":
            return False
        fmt = schema.get("format")
        if fmt == "date":
            return "2030-03-01"
        if fmt == "date-time":
            return "2030-03-01T00:00:00+08:00"
        if "pattern" in schema and r"\d" in schema["pattern"]:
            return "100.00"
        return "x" * max(1, schema.get("minLength", 1))


def endpoints(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in sorted(document["paths"].items())
        for method, operation in item.items()
        if method in METHODS
    ]


class World:
    """Unit A with one resource of every kind (owned through A where they are unit-scoped), and unit B."""

    def __init__(self, system: InProcessSystem, nats_url: str) -> None:
        self.system = system
        self.nats_url = nats_url
        self.ids: dict[str, str] = {}

    async def post(self, service: str, path: str, body: dict[str, Any], headers: dict[str, str], key: str | None = None) -> dict[str, Any]:
        response = await self.system.clients[service].post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), f"setting up {path}: {response.text}"
        data = response.json()
        if key:
            self.ids[key] = data["id"]
        return data

    async def dead_letter(self) -> str:
        """One of ownership's dead letters, for the operators' endpoints (its consumer does not exist: no redrive)."""
        event_id = uuid.uuid4().hex
        envelope = {"specversion": "1.0", "id": event_id, "source": "/kezhuan/matrix", "type": "matrix.probe",
                    "time": real_now().isoformat(), "datacontenttype": "application/json", "data": {}}
        js = self.system.runtime("ownership").nats.jetstream()
        await publish_dead_letter(js, service="ownership", durable="ownership-access-matrix", envelope=orjson.dumps(envelope),
                                  event_id=event_id, event_type="matrix.probe", reason="a probe of the access matrix",
                                  deliveries=1, at=real_now())
        admin = self.system.auth("platform_admin")

        async def listed() -> str | None:
            response = await self.system.clients["ownership"].get("/api/v1/dead-letters", params={"limit": 200}, headers=admin)
            return next((str(item["id"]) for item in response.json()["items"] if item["event_id"] == event_id), None)

        return await eventually(listed, timeout=10)

    async def build(self) -> None:
        s = self.system
        self.ids["unit_id"] = (await s.register_unit())["id"]
        self.ids["other_unit_id"] = (await s.register_unit())["id"]
        self.ids["dead_letter_id"] = await self.dead_letter()
        unit = self.ids["unit_id"]
        admin = s.auth("unit_admin", unit, sub="matrix-unit-admin")
        platform = s.auth("platform_admin")

        async def achievement() -> str:
            body = {"unit_id": unit, "title": f"一种焊接工艺-{uuid.uuid4().hex[:4]}", "kind": "patent",
                    "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().int % 10**12}.X", "granted_on": "2020-05-01"}],
                    "completers": [{"person_id": "p-1", "name": "李明"}], "security": SECURITY, "ethics_review_required": False}
            return (await self.post("ownership", "/api/v1/achievements", body, admin))["id"]

        self.ids["achievement_id"] = await achievement()
        await self.post("ownership", f"/api/v1/achievements/{self.ids['achievement_id']}/empowerments",
                        {"type": "usage_right", "start_on": "2030-03-01", "end_on": "2041-03-01", "decision": DECISION}, admin, "empowerment_id")
        tx = await self.post("pricing", "/api/v1/transactions",
                             {"achievement_id": await achievement(), "kind": "transfer", "method": "agreement",
                              "counterparty": COUNTERPARTY, "proposed_price": "500000.00",
                              "appraisal": {"performed": True, "value": "480000.00", "report_reference": "R-1"}}, admin, "transaction_id")
        await self.post("pricing", f"/api/v1/transactions/{tx['id']}/notice", {}, admin, "notice_id")
        uploaded = await s.clients["pricing"].post(f"/api/v1/transactions/{tx['id']}/documents", data={"kind": "contract"},
                                                   files={"file": ("合同.pdf", b"%PDF-1.4 matrix", "application/pdf")}, headers=admin)
        assert uploaded.status_code == 201, f"setting up a document: {uploaded.text}"
        self.ids["document_id"] = uploaded.json()["id"]
        listed = await self.post("pricing", "/api/v1/transactions",
                                 {"achievement_id": await achievement(), "kind": "transfer", "method": "listing",
                                  "proposed_price": "300000.00", "appraisal": {"performed": True, "value": "300000.00", "report_reference": "R-2"}}, admin)
        await self.post("pricing", f"/api/v1/transactions/{listed['id']}/listing", {"exchange": "辽宁技术交易所", "price": "300000.00"}, admin, "listing_id")
        auctioned = await self.post("pricing", "/api/v1/transactions",
                                    {"achievement_id": await achievement(), "kind": "transfer", "method": "auction",
                                     "appraisal": {"performed": True, "value": "300000.00", "report_reference": "R-3"}}, admin)
        await self.post("pricing", f"/api/v1/transactions/{auctioned['id']}/auction",
                        {"reserve_price": "100000.00", "closes_at": "2099-01-01T00:00:00+08:00"}, admin, "auction_id")
        await self.post("pricing", "/api/v1/challenges",
                        {"direction": "technology_wanted", "title": "耐腐蚀涂层", "description": "需要", "publisher": PARTY,
                         "field": "新材料", "region": "大连市", "closes_on": "2099-12-31"},
                        s.auth("enterprise", sub="matrix-publisher"), "challenge_id")
        await self.post("pricing", f"/api/v1/challenges/{self.ids['challenge_id']}/responses",
                        {"responder": PARTY, "proposal": "方案"}, s.auth("enterprise"), "response_id")
        await self.post("exemption", "/api/v1/exemption-cases",
                        {"unit_id": unit, "subject": {"person_id": "matrix-subject", "name": "张三", "role": "leader", "leader_rank": "principal"},
                         "matter": {"summary": "成果转让后价值上涨"}, "claimed_clauses": ["G5.3"]}, admin, "case_id")
        uploaded = await s.clients["exemption"].post(
            f"/api/v1/exemption-cases/{self.ids['case_id']}/evidence", data={"kind": "document", "title": "会议纪要"},
            files={"file": ("纪要.pdf", b"%PDF-1.7 matrix", "application/pdf")}, headers=admin)
        assert uploaded.status_code == 201, uploaded.text
        self.ids["doc_id"] = uploaded.json()["evidence"][-1]["document"]["id"]
        await self.post("finance", "/api/v1/funds", {"name": "科转基金", "contribution": "10000000.00"}, platform, "fund_id")
        await self.post("finance", "/api/v1/invest-first-projects", {"fund_id": self.ids["fund_id"], "enterprise": PARTY},
                        s.auth("platform_company"), "project_id")
        park = uuid.uuid4().hex  # FIN-8: finance learns the park's excellent rating from ownership's event
        await publish_event(self.nats_url, "ownership.institution.evaluated", park, {
            "institution_id": park, "evaluation_id": park, "kind": "science_park", "name": "科技园", "unit_ids": [unit],
            "year": 2030, "rating": "excellent", "evaluated_by": "省科技厅"})

        async def subsidy() -> str | None:
            response = await s.clients["finance"].post("/api/v1/subsidies", json={
                "kind": "science_park", "recipient": PARTY, "amount": "1000.00", "basis_reference": "B-1",
                "institution_id": park, "evaluation_year": 2030}, headers=platform)
            return response.json()["id"] if response.status_code == 201 else None
        self.ids["subsidy_id"] = await eventually(subsidy, timeout=10)
        await self.post("finance", "/api/v1/rewards", {"unit_id": unit, "recipients": [
            {"person_id": "p-1", "name": "李明", "role": "researcher", "form": "cash", "amount": "1000.00",
             "contribution_note": "负责成果转化"}]}, admin, "reward_id")
        await self.post("finance", "/api/v1/horizontal-investments", {
            "unit_id": unit, "achievement_id": self.ids["achievement_id"], "project_reference": "H-1", "surplus_amount": "100000.00", "cash_amount": "50000.00",
            "technology_valuation": "50000.00", "enterprise": PARTY, "researcher_share_pct": "90.00",
            "unit_consent": {"by": "校长办公会", "on": "2030-03-01"}}, admin, "investment_id")
        await self.post("ownership", "/api/v1/units/" + unit + "/pool/publications", {}, admin)
        await self.post("ownership", "/api/v1/institutions", {"kind": "science_park", "name": "科技园", "unit_ids": [unit]},
                        platform, "institution_id")
        await self.post("ownership", "/api/v1/technology-managers", {
            "person_id": "tm-1", "name": "赵六", "certificate": {"number": "C-1", "level": "高级"}, "unit_id": unit},
            admin, "technology_manager_id")
        self.ids["number"] = "1"
        # A concluded deal (delisting) records an income; an agreed-return transfer opens a receivable.
        await self.post("pricing", f"/api/v1/listings/{self.ids['listing_id']}/delistings", {"party": COUNTERPARTY}, s.auth("enterprise"))
        transferred = await achievement()
        await self.post("ownership", f"/api/v1/achievements/{transferred}/empowerments",
                        {"type": "ownership", "team_share": "70.00", "unit_share": "30.00", "decision": DECISION}, admin)
        await self.post("ownership", f"/api/v1/achievements/{transferred}/separate-management", {"decision": DECISION}, admin)
        await self.post("ownership", f"/api/v1/achievements/{transferred}/equity-transfers",
                        {"mode": "agreed_return", "enterprise": PARTY, "decision": DECISION}, admin)
        # §6b: the evaluation service knows people from events only: p-1 completed unit A's achievements,
        # and a technology manager registered with unit A.
        self.ids["person_id"] = "p-1"
        self.ids["manager_id"] = f"tm-{uuid.uuid4().hex[:8]}"
        await publish_event(s.runtime("evaluation").settings.nats_url, "ownership.technology_manager.registered",
                            self.ids["manager_id"], {"technology_manager_id": self.ids["manager_id"],
                                                     "person_id": "tm-person", "name": "王经理", "unit_id": unit})
        rebuild = await s.clients["evaluation"].post("/api/v1/evaluation/rebuild", headers=platform)
        assert rebuild.status_code == 202, rebuild.text
        self.ids["rebuild_id"] = rebuild.json()["id"]

        async def evaluated() -> bool:
            manager = await s.clients["evaluation"].get(f"/api/v1/evaluation/technology-managers/{self.ids['manager_id']}",
                                                        headers=platform)
            person = await s.clients["evaluation"].get("/api/v1/evaluation/researchers/p-1", headers=admin)
            return manager.status_code == 200 and person.status_code == 200

        await eventually(evaluated, timeout=20)
        for collection, key in (("incomes", "income_id"), ("receivables", "receivable_id")):
            async def first(collection: str = collection) -> str | None:
                response = await s.clients["finance"].get(f"/api/v1/{collection}", params={"unit_id": unit}, headers=admin)
                items = response.json().get("items", []) if response.status_code == 200 else []
                return items[0]["id"] if items else None
            self.ids[key] = await eventually(first, timeout=10)
        institution = s.auth("financial_institution")
        await self.post("finance", "/api/v1/financial-products", {"kind": "transformation_loan", "name": "科技成果转化贷",
                                                                  "provider": PARTY, "terms": "年利率3.45%"}, institution, "product_id")

        async def uptake() -> str | None:  # FIN-11: once finance has learnt of the delisting's deal
            response = await s.clients["finance"].post(f"/api/v1/financial-products/{self.ids['product_id']}/uptakes", json={
                "enterprise": PARTY, "transaction_id": listed["id"], "amount": "100000.00", "start_on": "2030-03-01"}, headers=institution)
            return response.json()["id"] if response.status_code == 201 else None
        self.ids["uptake_id"] = await eventually(uptake, timeout=10)
        await self.post("finance", "/api/v1/risk-compensation-pools", {"name": "风险补偿资金池", "contribution": "100000.00",
                                                                       "ratio_pct": "50.00"}, platform, "pool_id")


@pytest_asyncio.fixture(scope="module")
async def matrix(system: InProcessSystem, nats_url: str) -> tuple[World, dict[str, Any]]:
    world = World(system, nats_url)
    await world.build()
    document = merge_openapi({name: app.openapi() for name, app in system.apps.items()})
    return world, document


def _service_of(path: str) -> str:
    return service_for(path) or "ownership"  # /api/v1/audit/verify: every service has one


async def _call(system: InProcessSystem, world: World, sampler: Sampler, method: str, path: str,
                operation: dict[str, Any], role: str, own: bool) -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: world.ids[m.group(1)], path)
    params = {p["name"]: world.ids.get(p["name"], "x") for p in operation.get("parameters", [])
              if p.get("in") == "query" and p.get("required") or p.get("name") == "unit_id"}
    body = None
    if "requestBody" in operation:
        schema = next(iter(operation["requestBody"]["content"].values()))["schema"]
        body = sampler.sample(schema)
    unit = world.ids["unit_id"] if own else world.ids["other_unit_id"]
    headers = {} if role == ANONYMOUS else system.auth(role, unit, sub=f"matrix-{role}-{'own' if own else 'other'}")
    return await system.clients[_service_of(path)].request(method, url, params=params, json=body, headers=headers)


def _class_of(status: int) -> str:
    return str(status) if status in (401, 403, 404) or status >= 500 else "allowed"


async def test_every_endpoint_has_a_declared_policy(matrix: tuple[World, dict[str, Any]]) -> None:
    _, document = matrix
    documented = {(method, path) for method, path, _ in endpoints(document)}
    assert documented - set(POLICY) == set(), "endpoints without a policy row"
    assert set(POLICY) - documented == set(), "policy rows for endpoints that do not exist"


@pytest.mark.parametrize("role", (*ROLES, ANONYMOUS))
async def test_access_matches_the_declared_policy(role: str, system: InProcessSystem, matrix: tuple[World, dict[str, Any]]) -> None:
    world, document = matrix
    sampler = Sampler(document, {
        **{key: value for key, value in world.ids.items() if key.endswith("_id")},
        "direction": "technology_wanted", "method": "agreement", "party": COUNTERPARTY, "counterparty": COUNTERPARTY,
        "publisher": PARTY, "enterprise": PARTY, "recipient": PARTY, "responder": PARTY, "decision": DECISION,
        "security": SECURITY,
    })
    mismatches = []
    for method, path, operation in endpoints(document):
        for own in (True, False):
            response = await _call(system, world, sampler, method, path, operation, role, own)
            want = expected(POLICY[(method, path)], role, own)
            got = _class_of(response.status_code)
            if got != want:
                mismatches.append(f"{method} {path} as {role} ({'own' if own else 'other'} unit): "
                                  f"expected {want}, got {response.status_code} {response.text[:160]}")
    assert mismatches == [], "\n".join(mismatches)
