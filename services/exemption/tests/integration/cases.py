"""Helpers for the exemption integration tests: a case walked through the procedure over HTTP."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from servicekit.testing import InProcessSystem

CASES = "/api/v1/exemption-cases"
HELD_ON = "2025-01-10"


def pid(prefix: str = "p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Handle:
    """A case and the people around it."""

    system: InProcessSystem
    unit_id: str
    id: str
    subject_id: str
    admin_id: str
    member_id: str
    body: dict[str, Any]

    @property
    def client(self) -> Any:
        return self.system.clients["exemption"]

    @property
    def admin(self) -> dict[str, str]:
        return self.system.auth("unit_admin", self.unit_id, sub=self.admin_id)

    @property
    def subject(self) -> dict[str, str]:
        return self.system.auth("researcher", self.unit_id, sub=self.subject_id)

    @property
    def member(self) -> dict[str, str]:
        return self.system.auth("researcher", self.unit_id, sub=self.member_id)

    def url(self, suffix: str = "") -> str:
        return f"{CASES}/{self.id}{suffix}"

    async def get(self, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get(self.url(), headers=headers or self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, suffix: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return await self.client.post(self.url(suffix), json=body, headers=headers or self.admin)

    async def ok(self, suffix: str, body: Any, headers: dict[str, str] | None = None, status: int | None = None) -> dict[str, Any]:
        response = await self.post(suffix, body, headers)
        assert response.status_code in ((status,) if status else (200, 201)), response.text
        return response.json()

    async def panel(self, **overrides: Any) -> dict[str, Any]:
        body = {"mode": "working_group", "members": [{"person_id": self.member_id, "name": "王组员"}], **overrides}
        response = await self.client.put(self.url("/panel"), json=body, headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def prepare(self) -> None:
        """Panel, one piece of evidence and the subject heard: ready for a decision (EXE-5)."""
        await self.panel()
        await self.ok("/evidence", {"kind": "document", "title": "会议纪要", "reference": "DOC-1"})
        await self.ok("/statements", {"heard_on": HELD_ON, "summary": "当事人陈述"})

    def decision(self, conclusion: str = "meets", **overrides: Any) -> dict[str, Any]:
        clauses = ["G6"] if self.body["subject"]["role"] == "researcher" else self.body["claimed_clauses"]
        return {
            "meeting": {"body": "校长办公会", "held_on": HELD_ON, "attendees": [self.admin_id, pid("attendee"), pid("attendee")]},
            "conclusion": conclusion,
            "clauses": clauses,
            "reasoning": "依据第五条",
            **({"improvements": ["完善内控流程"], "shortcomings_direct_cause": False} if conclusion == "basically_meets" else {}),
            **overrides,
        }

    async def decide(self, conclusion: str = "meets", **overrides: Any) -> dict[str, Any]:
        return await self.ok("/decision", self.decision(conclusion, **overrides), status=200)


async def open_case(
    system: InProcessSystem,
    unit_id: str | None = None,
    *,
    role: str = "leader",
    leader_rank: str | None = "principal",
    clauses: list[str] | None = None,
    transaction_id: str | None = None,
) -> Handle:
    """Open a fresh case (a fresh unit unless one is given)."""
    if unit_id is None:
        unit_id = (await system.register_unit())["id"]
    subject_id, admin_id, member_id = pid("subject"), pid("admin"), pid("member")
    subject: dict[str, Any] = {"person_id": subject_id, "name": "张三", "role": role}
    if role == "leader":
        subject["leader_rank"] = leader_rank
    matter: dict[str, Any] = {"summary": "成果转让后价值大幅上涨", "loss_amount": "150000.00"}
    if transaction_id:
        matter["transaction_id"] = transaction_id
    body = {
        "unit_id": unit_id,
        "subject": subject,
        "matter": matter,
        "claimed_clauses": clauses if clauses is not None else (["G6"] if role == "researcher" else ["G5.3"]),
    }
    response = await system.clients["exemption"].post(
        CASES, json=body, headers=system.auth("unit_admin", unit_id, sub=admin_id)
    )
    assert response.status_code == 201, response.text
    return Handle(system, unit_id, response.json()["id"], subject_id, admin_id, member_id, body)
