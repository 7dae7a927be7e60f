"""Units: registration, policy, its replication to the other services, and the HTTP conventions."""
from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
from sqlalchemy import select

from servicekit.auth import mint_token
from servicekit.testing import InProcessSystem, eventually

UNITS = "/api/v1/units"


async def policy_in(system: InProcessSystem, service: str, unit_id: str) -> tuple[int, int, int] | None:
    runtime = system.runtime(service)
    table = runtime.spec.metadata.tables["unit_policies"]
    async with runtime.sessions() as session:
        row = (await session.execute(select(table).where(table.c.unit_id == unit_id))).first()
    return None if row is None else (row.notice_days, row.review_request_days, row.patent_change_days)


async def test_registered_unit_has_default_policy_and_reaches_every_service(system: InProcessSystem) -> None:
    unit = await system.register_unit(name="东北大学", type="university")
    assert unit["policy"] == {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90, "min_meeting_attendees": 3}
    assert unit["version"] == 1
    for service in ("pricing", "exemption", "finance"):
        assert await eventually(lambda s=service: policy_in(system, s, unit["id"]), timeout=2) == (15, 15, 90)


async def test_policy_change_by_unit_admin_reaches_every_service(system: InProcessSystem) -> None:
    unit = await system.register_unit(policy={"notice_days": 20})
    assert unit["policy"]["notice_days"] == 20
    response = await system.clients["ownership"].patch(
        f"{UNITS}/{unit['id']}/policy",
        json={"review_request_days": 30},
        headers={**system.auth("unit_admin", unit["id"]), "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert response.json()["policy"] == {"notice_days": 20, "review_request_days": 30, "patent_change_days": 90, "min_meeting_attendees": 3}

    async def replicated() -> bool:
        return all([await policy_in(system, s, unit["id"]) == (20, 30, 90) for s in ("pricing", "exemption", "finance")])

    await eventually(replicated, timeout=2)


async def test_stale_if_match_is_412(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    response = await system.clients["ownership"].patch(
        f"{UNITS}/{unit['id']}/policy",
        json={"notice_days": 10},
        headers={**system.auth("unit_admin", unit["id"]), "If-Match": '"7"'},
    )
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"


async def test_other_units_admin_gets_404_on_policy_change(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    response = await system.clients["ownership"].patch(
        f"{UNITS}/{unit['id']}/policy", json={"notice_days": 10}, headers=system.auth("unit_admin", "another-unit")
    )
    assert response.status_code == 404


async def test_unknown_unit_type_is_refused_with_sco_1(system: InProcessSystem) -> None:
    response = await system.clients["ownership"].post(
        UNITS, json={"name": "某企业", "type": "enterprise"}, headers=system.auth("platform_admin")
    )
    assert response.status_code == 422
    assert response.json()["rule"] == "SCO-1"


async def test_central_unit_in_liaoning_registers_under_the_same_rules(system: InProcessSystem) -> None:
    unit = await system.register_unit(name="中国科学院大连化学物理研究所", type="research_institute", central_in_liaoning=True)
    assert unit["central_in_liaoning"] is True
    assert unit["policy"]["notice_days"] == 15


async def test_same_idempotency_key_and_body_gives_one_unit_and_identical_response(system: InProcessSystem) -> None:
    headers = {**system.auth("platform_admin", sub="admin-idem"), "Idempotency-Key": uuid.uuid4().hex}
    body = {"name": f"沈阳药科大学-{uuid.uuid4().hex[:6]}", "type": "university"}
    first = await system.clients["ownership"].post(UNITS, json=body, headers=headers)
    second = await system.clients["ownership"].post(UNITS, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    other = await system.clients["ownership"].post(UNITS, json={**body, "name": "另一个"}, headers=headers)
    assert other.status_code == 409
    runtime = system.runtime("ownership")
    from ownership.models import Unit

    async with runtime.sessions() as session:
        count = len((await session.execute(select(Unit).where(Unit.name == body["name"]))).all())
    assert count == 1


async def test_get_unit_needs_a_token(system: InProcessSystem) -> None:
    unit = await system.register_unit()
    assert (await system.clients["ownership"].get(f"{UNITS}/{unit['id']}")).status_code == 401
    response = await system.clients["ownership"].get(f"{UNITS}/{unit['id']}", headers=system.auth("enterprise"))
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'


def _problem(response) -> dict:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == response.status_code
    return body


async def test_hostile_requests_get_the_right_problem_and_never_a_5xx(system: InProcessSystem) -> None:
    client = system.clients["ownership"]
    admin = system.auth("platform_admin")
    secret = system.secret
    expired = mint_token(secret, sub="x", roles=["platform_admin"], ttl=timedelta(seconds=-5))
    foreign = mint_token("another-secret-of-sufficient-length-1234", sub="x", roles=["platform_admin"])
    unsigned = jwt.encode({"sub": "x", "roles": ["platform_admin"], "exp": 4102444800}, None, algorithm="none")
    no_sub = jwt.encode({"roles": ["platform_admin"], "exp": 4102444800}, secret, algorithm="HS256")
    cases = [
        (client.post(UNITS, content=b"{not json", headers={**admin, "Content-Type": "application/json"}), 422),
        (client.post(UNITS, json={"name": 5, "type": ["university"]}, headers=admin), 422),
        (client.post(UNITS, json={"name": "x", "type": "university", "policy": {"notice_days": "many"}}, headers=admin), 422),
        (client.get("/api/v1/no-such-thing", headers=admin), 404),
        (client.delete(UNITS, headers=admin), 405),
        (client.post(UNITS, json={"name": "x", "type": "university"}), 401),
        (client.post(UNITS, json={"name": "x", "type": "university"}, headers={"Authorization": f"Bearer {expired}"}), 401),
        (client.post(UNITS, json={"name": "x", "type": "university"}, headers={"Authorization": f"Bearer {foreign}"}), 401),
        (client.post(UNITS, json={"name": "x", "type": "university"}, headers={"Authorization": f"Bearer {unsigned}"}), 401),
        (client.post(UNITS, json={"name": "x", "type": "university"}, headers={"Authorization": f"Bearer {no_sub}"}), 401),
        (client.post(UNITS, json={"name": "x", "type": "university"}, headers={"Authorization": "Basic abc"}), 401),
        (client.post(UNITS, json={"name": "x", "type": "university"}, headers=system.auth("researcher", "u1")), 403),
        (client.post(UNITS, content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers={**admin, "Content-Type": "application/json"}), 413),
        (client.get(f"{UNITS}/x", headers={**admin, "If-Match": "garbage"}), 404),
    ]
    for request, expected in cases:
        response = await request
        assert response.status_code == expected, (expected, response.status_code, response.text)
        _problem(response)


async def test_request_id_is_echoed_and_carried_into_the_event(system: InProcessSystem) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    response = await system.clients["ownership"].post(
        UNITS,
        json={"name": "辽宁大学", "type": "university"},
        headers={**system.auth("platform_admin"), "X-Request-ID": request_id},
    )
    assert response.headers["x-request-id"] == request_id
    runtime = system.runtime("ownership")
    outbox = runtime.tables.outbox
    async with runtime.sessions() as session:
        envelopes = (await session.execute(select(outbox.c.envelope).where(outbox.c.type == "ownership.unit.registered"))).scalars().all()
    import orjson

    matching = [orjson.loads(e) for e in envelopes if orjson.loads(e)["subject"] == response.json()["id"]]
    assert matching and matching[0]["requestid"] == request_id
