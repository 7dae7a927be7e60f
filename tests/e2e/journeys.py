"""The steps of the cross-service journeys, through the gateway, shared by the journey tests.

Every cross-service effect arrives by an event, so each check after a write polls with `eventually`.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem

DECISION = {"body": "校长办公会", "date": "2031-02-20", "reference": "大工办〔2031〕3号"}
COUNTERPARTY = {
    "name": "沈阳新材料科技有限公司",
    "credit_code": "91210100MA0000002Y",
    "kind": "enterprise",
    "ownership": "other",
    "overseas": False,
}
APPRAISAL = {"performed": True, "value": "480000.00", "report_reference": "辽评报字〔2031〕001号"}
PRICE = "500000.00"
EFFECT_TIMEOUT = 10


def ok(response: httpx.Response, status: int | tuple[int, ...] = (200, 201)) -> dict[str, Any]:
    """The JSON body of a response that must have one of the given statuses."""
    expected = (status,) if isinstance(status, int) else status
    assert response.status_code in expected, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


class Journey:
    """One unit's way through the system: its admin, an achievement, a deal, and what follows."""

    def __init__(self, running: RunningSystem, unit: dict[str, Any], start: datetime) -> None:
        self.running = running
        self.http = running.http
        self.unit = unit
        self.unit_id = unit["id"]
        self.now = start
        self.admin = running.auth("unit_admin", self.unit_id, sub=f"admin-{uuid.uuid4().hex[:8]}")

    @classmethod
    async def begin(cls, running: RunningSystem, start: datetime) -> Journey:
        """Set the clock to `start` and register a fresh unit."""
        await running.set_clock(start)
        return cls(running, await running.register_unit(), start)

    async def advance(self, delta: timedelta) -> None:
        """Move the test clock forward for every service."""
        self.now += delta
        await self.running.set_clock(self.now)

    async def pooled_achievement(self) -> dict[str, Any]:
        """An achievement whose patent was granted more than 3 years ago, so it is in the pool (OWN-10)."""
        body = {
            "unit_id": self.unit_id,
            "title": f"一种高效催化剂的制备方法-{uuid.uuid4().hex[:6]}",
            "kind": "patent",
            "ip_rights": [{"type": "invention_patent", "number": f"ZL{uuid.uuid4().hex[:10]}", "granted_on": "2026-05-01"}],
            "completers": [{"person_id": "p-zhang", "name": "张三"}],
            "security": {"national_interest": False, "classified": False, "key_core_technology": False},
            "ethics_review_required": False,
        }
        achievement = ok(await self.http.post("/api/v1/achievements", json=body, headers=self.admin), 201)
        assert achievement["in_pool"] is True, achievement
        return achievement

    async def pool_ids(self) -> set[str]:
        pool = ok(await self.http.get(f"/api/v1/units/{self.unit_id}/pool"), 200)
        return {item["achievement_id"] for item in pool["items"]}

    async def usage_right(self, achievement_id: str) -> dict[str, Any]:
        body = {
            "type": "usage_right",
            "start_on": self.now.date().isoformat(),
            "end_on": self.now.date().replace(year=self.now.year + 10).isoformat(),
            "decision": DECISION,
        }
        url = f"/api/v1/achievements/{achievement_id}/empowerments"
        return ok(await self.http.post(url, json=body, headers=self.admin), 201)

    async def agreement(self, achievement_id: str) -> dict[str, Any]:
        body = {
            "achievement_id": achievement_id,
            "kind": "transfer",
            "method": "agreement",
            "counterparty": COUNTERPARTY,
            "proposed_price": PRICE,
            "appraisal": APPRAISAL,
        }
        return ok(await self.http.post("/api/v1/transactions", json=body, headers=self.admin), 201)

    async def notice(self, transaction_id: str) -> dict[str, Any]:
        return ok(await self.http.post(f"/api/v1/transactions/{transaction_id}/notice", json={}, headers=self.admin), 201)

    async def transaction(self, transaction_id: str) -> dict[str, Any]:
        return ok(await self.http.get(f"/api/v1/transactions/{transaction_id}", headers=self.admin), 200)

    async def in_state(self, transaction_id: str, state: str) -> dict[str, Any]:
        """Poll the transaction until it reaches `state` (time-driven transitions run within 5 s)."""

        async def reached() -> dict[str, Any] | None:
            transaction = await self.transaction(transaction_id)
            return transaction if transaction["state"] == state else None

        return await eventually(reached, timeout=EFFECT_TIMEOUT)

    async def conclude(self, transaction_id: str) -> dict[str, Any]:
        body = {"contract_reference": f"HT-{uuid.uuid4().hex[:6]}", "signed_on": self.now.date().isoformat()}
        return ok(await self.http.post(f"/api/v1/transactions/{transaction_id}/conclusion", json=body, headers=self.admin), 200)

    async def transformed(self, achievement_id: str) -> dict[str, Any]:
        """Poll until ownership applied `pricing.deal.concluded`: transformed and out of the pool."""

        async def applied() -> dict[str, Any] | None:
            achievement = ok(await self.http.get(f"/api/v1/achievements/{achievement_id}", headers=self.admin), 200)
            return achievement if achievement["transformed"] and not achievement["in_pool"] else None

        achievement = await eventually(applied, timeout=EFFECT_TIMEOUT)
        assert achievement_id not in await self.pool_ids()
        return achievement

    async def income(self, transaction_id: str) -> dict[str, Any]:
        """Poll until finance recorded the deal's income."""

        async def recorded() -> dict[str, Any] | None:
            incomes = ok(await self.http.get("/api/v1/incomes", params={"unit_id": self.unit_id}, headers=self.admin), 200)
            return next((i for i in incomes["items"] if i.get("transaction_id") == transaction_id), None)

        return await eventually(recorded, timeout=EFFECT_TIMEOUT)

    async def cash_reward(self, income_id: str) -> dict[str, Any]:
        body = {
            "unit_id": self.unit_id,
            "income_id": income_id,
            "recipients": [{"person_id": "p-zhang", "name": "张三", "role": "researcher", "form": "cash", "amount": "350000.00"}],
        }
        return ok(await self.http.post("/api/v1/rewards", json=body, headers=self.admin), 201)

    def case(self, case_id: str, subject_id: str) -> Case:
        return Case(self, case_id, subject_id)

    async def open_case(self, transaction_id: str) -> Case:
        """An exemption case about the deal, its subject a principal leader claiming G5.3."""
        subject_id = f"leader-{uuid.uuid4().hex[:8]}"
        body = {
            "unit_id": self.unit_id,
            "subject": {"person_id": subject_id, "name": "李校长", "role": "leader", "leader_rank": "principal"},
            "matter": {"summary": "成果转让后价值大幅上涨", "loss_amount": "150000.00", "transaction_id": transaction_id},
            "claimed_clauses": ["G5.3"],
        }
        case = ok(await self.http.post("/api/v1/exemption-cases", json=body, headers=self.admin), 201)
        assert case["state"] == "investigating"
        return self.case(case["id"], subject_id)


class Case:
    """An exemption case walked through its procedure over the gateway."""

    def __init__(self, journey: Journey, case_id: str, subject_id: str) -> None:
        self.journey = journey
        self.http = journey.http
        self.admin = journey.admin
        self.url = f"/api/v1/exemption-cases/{case_id}"
        self.subject = journey.running.auth("researcher", journey.unit_id, sub=subject_id)
        self.member_id = f"member-{uuid.uuid4().hex[:8]}"

    async def g5_3_supported(self) -> dict[str, Any]:
        """Poll the assessment until the pricing record (from events) makes G5.3 `supported` (EXE-11)."""

        async def supported() -> dict[str, Any] | None:
            assessment = ok(await self.http.get(f"{self.url}/assessment", headers=self.admin), 200)
            g5_3 = next(c for c in assessment["clauses"] if c["clause"] == "G5.3")
            return assessment if g5_3["status"] == "supported" else None

        return await eventually(supported, timeout=EFFECT_TIMEOUT)

    async def prepare(self) -> None:
        """Panel and the subject heard; the pricing record is the evidence (EXE-5)."""
        panel = {"mode": "working_group", "members": [{"person_id": self.member_id, "name": "王组员"}]}
        ok(await self.http.put(f"{self.url}/panel", json=panel, headers=self.admin), 200)
        statement = {"heard_on": self.journey.now.date().isoformat(), "summary": "当事人陈述：按程序公示无异议"}
        ok(await self.http.post(f"{self.url}/statements", json=statement, headers=self.admin), (200, 201))

    async def decide(self) -> dict[str, Any]:
        body = {
            "meeting": {"body": "校长办公会", "held_on": self.journey.now.date().isoformat(), "attendees": ["attendee-1", "attendee-2", "attendee-3"]},
            "conclusion": "basically_meets",
            "clauses": ["G5.3"],
            "reasoning": "协议定价经公示无异议，程序合规",
            "improvements": ["完善定价内控流程"],
            "shortcomings_direct_cause": False,
        }
        return ok(await self.http.post(f"{self.url}/decision", json=body, headers=self.admin), 200)

    async def post(self, suffix: str, body: dict[str, Any], headers: dict[str, str], status: int = 200) -> dict[str, Any]:
        return ok(await self.http.post(f"{self.url}{suffix}", json=body, headers=headers), (status, 201) if status == 200 else status)


def balance_identity(fund: dict[str, Any]) -> bool:
    """FIN-5: balance = contributed + exit proceeds − disbursed."""
    return Decimal(fund["balance"]) == Decimal(fund["contributed"]) + Decimal(fund["exit_proceeds"]) - Decimal(fund["disbursed"])
