"""Opening a case: the subject's role (SCO-2), the clauses open to it (EXE-1, EXE-2), recusal (EXE-6)."""
from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from servicekit.testing import InProcessSystem

from .cases import CASES, open_case, pid


def body(unit_id: str, subject: dict, clauses: list[str], **matter: str) -> dict:
    return {"unit_id": unit_id, "subject": {"person_id": pid(), "name": "李四", **subject},
            "matter": {"summary": "转化事项", **matter}, "claimed_clauses": clauses}


async def post(system: InProcessSystem, unit_id: str, payload: dict, sub: str | None = None):
    return await system.clients["exemption"].post(CASES, json=payload, headers=system.auth("unit_admin", unit_id, sub=sub))


@pytest.mark.parametrize(
    ("subject", "clauses", "rule"),
    [
        ({"role": "leader"}, ["G5.3"], "SCO-2"),
        ({"role": "leader", "leader_rank": "chief"}, ["G5.3"], "SCO-2"),
        ({"role": "researcher", "leader_rank": "deputy"}, ["G6"], "SCO-2"),
        ({"role": "student"}, ["G6"], "SCO-2"),
        ({"role": "leader", "leader_rank": "deputy"}, ["G6"], "EXE-1"),
        ({"role": "manager"}, ["G5.10"], "EXE-1"),
        ({"role": "manager"}, [], "EXE-1"),
        ({"role": "researcher"}, ["G5.3"], "EXE-2"),
        ({"role": "researcher"}, [], "EXE-2"),
    ],
)
async def test_clause_or_role_that_does_not_fit_is_refused_with_the_rule(
    system: InProcessSystem, subject: dict, clauses: list[str], rule: str
) -> None:
    unit = await system.register_unit()
    response = await post(system, unit["id"], body(unit["id"], subject, clauses))
    assert response.status_code == 422, response.text
    assert response.json()["rule"] == rule


@pytest.mark.parametrize(
    ("subject", "clauses"),
    [
        ({"role": "leader", "leader_rank": "principal"}, ["G5.1", "G5.3"]),
        ({"role": "leader", "leader_rank": "deputy"}, ["G5.9"]),
        ({"role": "manager"}, ["G5.8"]),
        ({"role": "researcher"}, ["G6"]),
    ],
)
async def test_clause_that_fits_the_role_opens_an_investigating_case(system: InProcessSystem, subject: dict, clauses: list[str]) -> None:
    unit = await system.register_unit()
    response = await post(system, unit["id"], body(unit["id"], subject, clauses, loss_amount="150000.00"))
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["state"] == "investigating"
    assert case["claimed_clauses"] == clauses
    assert case["matter"]["loss_amount"] == "150000.00"
    assert response.headers["etag"] == '"1"'


async def test_subject_may_not_open_their_own_case(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    payload = body(unit["id"], {"role": "manager"}, ["G5.8"])
    response = await post(system, unit["id"], payload, sub=payload["subject"]["person_id"])
    assert response.status_code == 422
    assert response.json()["rule"] == "EXE-6"


async def test_only_the_units_own_admin_opens_a_case(system: InProcessSystem) -> None:
    unit, other = await system.register_unit(), await system.register_unit()
    payload = body(unit["id"], {"role": "manager"}, ["G5.8"])
    client = system.clients["exemption"]
    assert (await client.post(CASES, json=payload, headers=system.auth("unit_admin", other["id"]))).status_code == 404
    assert (await client.post(CASES, json=payload, headers=system.auth("researcher", unit["id"]))).status_code == 403
    assert (await client.post(CASES, json=payload, headers=system.auth("platform_admin"))).status_code == 403
    assert (await client.post(CASES, json=payload)).status_code == 401
    unknown = body("no-such-unit", {"role": "manager"}, ["G5.8"])
    assert (await client.post(CASES, json=unknown, headers=system.auth("unit_admin", "no-such-unit"))).status_code == 404


@pytest.mark.parametrize(
    "matter",
    [{"summary": "x", "loss_amount": 150000}, {"summary": "x", "loss_amount": "1.234"}, {"summary": "x", "loss_amount": "-5.00"},
     {"summary": ""}, {"summary": "x", "extra": 1}],
)
async def test_malformed_matter_is_a_422_never_a_5xx(system: InProcessSystem, matter: dict) -> None:
    unit = await system.register_unit()
    payload = {**body(unit["id"], {"role": "manager"}, ["G5.8"]), "matter": matter}
    assert (await post(system, unit["id"], payload)).status_code == 422


async def test_opened_event_carries_only_ids_and_unit(system: InProcessSystem) -> None:
    case = await open_case(system)
    runtime = system.runtime("exemption")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        envelopes = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == "exemption.case.opened"))).scalars().all()
    events = [orjson.loads(e) for e in envelopes if orjson.loads(e)["subject"] == case.id]
    assert len(events) == 1
    assert events[0]["data"] == {"case_id": case.id, "unit_id": case.unit_id}
