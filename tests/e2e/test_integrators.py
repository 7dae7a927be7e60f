"""Integrators' proof: a client generated from the gateway's /openapi.json drives a deal to income.

The client is generated inside the test run with openapi-python-client, into a temporary directory,
and imported from there; it raises on any status the OpenAPI document does not declare.
"""
from __future__ import annotations

import asyncio
import importlib
import json
import subprocess
import sys
import sysconfig
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from servicekit.auth import mint_token
from servicekit.settings import DEV_JWT_SECRET
from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem
from tests.e2e.contracts_check import assert_every_seen_event_is_catalogued
from tests.e2e.journeys import APPRAISAL, COUNTERPARTY, DECISION, EFFECT_TIMEOUT, PRICE

pytestmark = pytest.mark.e2e

PACKAGE = "kezhuan_generated_client"


@pytest.fixture(scope="module")
async def generated(running: RunningSystem, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client package generated from the running gateway's merged OpenAPI document."""
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"

    async def complete() -> httpx.Response | None:
        # Under load a service may answer its document late; the gateway then marks the merge incomplete.
        response = await running.http.get("/openapi.json")
        assert response.status_code == 200, response.text
        return None if "x-kezhuan-missing-services" in response.json() else response

    response = await eventually(complete, timeout=60, interval=1)
    spec.write_bytes(response.content)
    generator = Path(sysconfig.get_path("scripts")) / "openapi-python-client"
    # The evaluation exports (CSV, XLSX) and charts (SVG) are files to the client, as integrators configure it.
    config = root / "config.json"
    config.write_text(json.dumps({"content_type_overrides": {
        "image/svg+xml": "application/octet-stream",
        "text/csv": "application/octet-stream",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "application/octet-stream",
    }}))
    result = await asyncio.to_thread(
        subprocess.run,
        [str(generator), "generate", "--path", str(spec), "--output-path", str(root / PACKAGE), "--meta", "none",
         "--config", str(config)],
        capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Every schema and endpoint must make it into the client; the generator reports what it dropped.
    assert "Unable to" not in output and "will not be generated" not in output and "Cannot parse" not in output, output
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Generated:
    """Calls through the generated package: `await api.call("pricing", "conclude", 200, ...)`."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.models = importlib.import_module(f"{PACKAGE}.models")

    def client(self, role: str, unit_id: str | None = None, sub: str | None = None) -> Any:
        token = mint_token(DEV_JWT_SECRET, sub=sub or f"{role}-client", roles=[role], unit_id=unit_id)
        return self.package.AuthenticatedClient(base_url=self.base_url, token=token, raise_on_unexpected_status=True)

    def anonymous(self) -> Any:
        return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def model(self, name: str, data: dict[str, Any]) -> Any:
        """A request body as a generated model, built from its JSON form."""
        return getattr(self.models, name).from_dict(data)

    async def call(self, tag: str, operation: str, status: int, client: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the generated operation whose module starts with `operation_`; assert the status; the parsed body."""
        api = importlib.import_module(f"{PACKAGE}.api.{tag}")
        modules = [p.stem for p in Path(api.__file__).parent.glob(f"{operation}_api_v1_*.py")]
        assert len(modules) == 1, (operation, modules)
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{modules[0]}")
        response = await module.asyncio_detailed(*args, client=client, **kwargs)
        assert response.status_code == status, response.content
        return response.parsed


async def test_a_generated_client_drives_an_agreement_deal_to_concluded_income(running: RunningSystem, generated: ModuleType) -> None:
    api = Generated(generated, running.supervisor.gateway_url)
    start = datetime(2034, 3, 1, 1, 0, tzinfo=UTC)
    await api.call("test_clock", "set_test_clock", 200, api.anonymous(), body=api.model("TestClockSetting", {"now": start.isoformat()}))

    unit = await api.call("ownership", "register_unit", 201, api.client("platform_admin"),
                          body=api.model("UnitCreate", {"name": f"东北大学-{uuid.uuid4().hex[:6]}", "type": "university"}))
    admin = api.client("unit_admin", unit.id, sub="admin-generated")
    achievement = await api.call("ownership", "register_achievement", 201, admin, body=api.model("AchievementCreate", {
        "unit_id": unit.id,
        "title": "一种钢材表面处理工艺",
        "kind": "patent",
        "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:10]}", "granted_on": "2029-06-01"}],
        "completers": [{"person_id": "p-wang", "name": "王五"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
        "ethics_review_required": False,
    }))
    assert (achievement.status, achievement.in_pool) == ("held", True)
    empowerment = await api.call("ownership", "grant_empowerment", 201, admin, achievement.id, body=api.model("EmpowermentCreate", {
        "type": "usage_right", "start_on": "2034-03-01", "end_on": "2044-03-01", "decision": DECISION,
    }))
    assert empowerment.state == "active"

    deal = await api.call("pricing", "open_transaction", 201, admin, body=api.model("TransactionCreate", {
        "achievement_id": achievement.id, "kind": "transfer", "method": "agreement",
        "counterparty": COUNTERPARTY, "proposed_price": PRICE, "appraisal": APPRAISAL,
    }))
    notice = await api.call("pricing", "publish_notice", 201, admin, deal.id, body=api.model("ActionBody", {}))
    assert notice.price == PRICE
    later = start + timedelta(days=unit.policy.notice_days + 1)
    await api.call("test_clock", "set_test_clock", 200, api.anonymous(), body=api.model("TestClockSetting", {"now": later.isoformat()}))

    async def notice_clear() -> bool:
        transaction = await api.call("pricing", "get_transaction", 200, admin, deal.id)
        return transaction.state == "notice_clear"

    await eventually(notice_clear, timeout=EFFECT_TIMEOUT)
    concluded = await api.call("pricing", "conclude", 200, admin, deal.id, body=api.model("ConclusionCreate", {
        "contract_reference": "HT-2034-001", "signed_on": later.date().isoformat(),
    }))
    assert (concluded.state, concluded.deal.basis, concluded.deal.price) == ("concluded", "notice_clear", PRICE)

    async def transformed() -> bool:
        read = await api.call("ownership", "get_achievement", 200, admin, achievement.id)
        return read.transformed and not read.in_pool

    await eventually(transformed, timeout=EFFECT_TIMEOUT)

    async def income() -> Any:
        page = await api.call("finance", "list_incomes", 200, admin, unit_id=unit.id)
        return next((item for item in page.items if item.transaction_id == deal.id), None)

    recorded = await eventually(income, timeout=EFFECT_TIMEOUT)
    assert (recorded.amount, recorded.source, recorded.achievement_id) == (PRICE, "deal", achievement.id)

    reward = await api.call("finance", "grant_reward", 201, admin, body=api.model("RewardCreate", {
        "unit_id": unit.id, "income_id": recorded.id,
        "recipients": [{"person_id": "p-wang", "name": "王五", "role": "researcher", "form": "cash", "amount": "300000.00"}],
    }))
    cash = reward.recipients[0]
    assert (cash.counts_in_performance_pay_total, cash.in_next_year_base, cash.in_social_insurance_base) == (True, False, False)


async def test_asyncapi_is_valid_3_0_and_catalogues_every_event_the_client_journey_caused(running: RunningSystem) -> None:
    await assert_every_seen_event_is_catalogued(running, {
        "ownership.unit.registered", "ownership.achievement.registered", "ownership.empowerment.granted",
        "pricing.transaction.opened", "pricing.notice.published", "pricing.notice.closed", "pricing.deal.concluded",
        "finance.income.recorded", "finance.reward.granted",
    })


async def test_asyncapi_says_what_each_running_service_consumes(running: RunningSystem) -> None:
    operations = (await running.http.get("/asyncapi.json")).json()["operations"]
    receiving = {name.removesuffix(".receive") for name, op in operations.items() if op["action"] == "receive"}
    assert {
        "ownership-deals.pricing.deal.concluded",
        "finance-deal-income.pricing.deal.concluded",
        "exemption-pricing-record.pricing.record.appended",
        "pricing-unit-policies.ownership.unit.registered",
    } <= receiving
