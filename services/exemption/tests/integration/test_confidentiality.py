"""Confidentiality (API.md §5): roles × own/other unit × before/after escalation; no leak on any endpoint."""
from __future__ import annotations

import pytest
import pytest_asyncio

from servicekit.testing import InProcessSystem

from .cases import Handle, open_case
from .test_procedure import ESCALATION

VISIBLE_ALWAYS = {"own_unit_admin", "subject", "panel_member"}
VISIBLE_ONCE_ESCALATED = {"provincial_office", "department"}
VIEWERS = [
    "own_unit_admin", "subject", "panel_member", "own_researcher", "other_unit_admin", "other_unit_researcher",
    "platform_admin", "provincial_office", "department", "platform_company", "enterprise",
]
STATES = ["investigating", "awaiting_confirmation", "review_rejected", "escalated", "determined"]


async def _case_in(system: InProcessSystem, state: str) -> Handle:
    case = await open_case(system)
    await case.prepare()
    if state == "investigating":
        return case
    await case.decide("does_not_meet")
    if state == "awaiting_confirmation":
        return case
    await case.ok("/review-requests", {"grounds": "异议"}, case.subject)
    await case.ok("/review-outcome", {"accepted": False, "explanation": "维持"})
    if state == "review_rejected":
        return case
    await case.ok("/escalation", ESCALATION)
    if state == "escalated":
        return case
    body = {"departments": ["science", "education"], "conclusion": "meets", "reasoning": "联合认定"}
    await case.ok("/department-determination", body, case.system.auth("provincial_office"))
    return case


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def cases(system: InProcessSystem) -> dict[str, Handle]:
    other_unit = (await system.register_unit())["id"]
    built = {state: await _case_in(system, state) for state in STATES}
    for case in built.values():
        case.body["other_unit"] = other_unit
    return built


def headers_of(case: Handle, viewer: str) -> dict[str, str]:
    auth, other = case.system.auth, case.body["other_unit"]
    return {
        "own_unit_admin": case.admin,
        "subject": case.subject,
        "panel_member": case.member,
        "own_researcher": auth("researcher", case.unit_id),
        "other_unit_admin": auth("unit_admin", other),
        "other_unit_researcher": auth("researcher", other),
        "platform_admin": auth("platform_admin"),
        "provincial_office": auth("provincial_office"),
        "department": auth("department"),
        "platform_company": auth("platform_company"),
        "enterprise": auth("enterprise"),
    }[viewer]


ACTIONS = [
    ("put", "/panel", {"mode": "working_group", "members": [{"person_id": "x", "name": "x"}]}),
    ("post", "/evidence", {"kind": "document", "title": "t", "reference": "r"}),
    ("post", "/statements", {"heard_on": "2025-01-10", "summary": "s"}),
    ("post", "/negative-findings", {"clause": "G7.5", "finding": "f"}),
    ("post", "/decision", {"conclusion": "meets", "reasoning": "r"}),
    ("post", "/confirmation", {}),
    ("post", "/review-requests", {"grounds": "g"}),
    ("post", "/review-outcome", {"accepted": False, "explanation": "e"}),
    ("post", "/escalation", ESCALATION),
    ("post", "/department-determination", {"departments": ["science", "finance"], "conclusion": "meets", "reasoning": "r"}),
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("viewer", VIEWERS)
async def test_case_is_visible_only_to_those_entitled(cases: dict[str, Handle], viewer: str, state: str) -> None:
    case = cases[state]
    headers = headers_of(case, viewer)
    visible = viewer in VISIBLE_ALWAYS or (viewer in VISIBLE_ONCE_ESCALATED and state in ("escalated", "determined"))
    client = case.client
    unknown = await client.get("/api/v1/exemption-cases/no-such-case", headers=headers)
    for path in ("", "/assessment"):
        response = await client.get(case.url(path), headers=headers)
        if visible:
            assert response.status_code == 200, (viewer, state, path, response.text)
        else:
            assert response.status_code == 404, (viewer, state, path, response.text)
            assert response.json() == unknown.json()  # indistinguishable from a case that does not exist
    if not visible:
        before = (await client.get(case.url(), headers=case.admin)).json()["version"]
        for method, path, body in ACTIONS:
            response = await client.request(method.upper(), case.url(path), json=body, headers=headers)
            assert response.status_code == 404, (viewer, state, path, response.text)
            assert case.id not in response.text and case.subject_id not in response.text
        assert (await client.get(case.url(), headers=case.admin)).json()["version"] == before
