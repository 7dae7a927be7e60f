"""FIN-8 through HTTP: a challenge award once, to its enterprise, once landed; an excellent park or provincial+
incubator at most 500,000.00, once per institution and year — decided on finance's own copies of the events."""
from __future__ import annotations

import asyncio
import uuid
from typing import Any

from finance import repository
from servicekit.testing import InProcessSystem, eventually, publish_event

from .helpers import problem

ENTERPRISE = {"name": "鞍钢集团有限公司", "credit_code": "91210300ANGANG"}
PARK = {"name": "大连理工大学国家大学科技园", "credit_code": "12210200PARK"}


async def _post(system: InProcessSystem, body: dict[str, Any]) -> Any:
    return await system.clients["finance"].post("/api/v1/subsidies", json=body, headers=system.auth("platform_admin"))


def _challenge_award(challenge_id: str, recipient: dict[str, str] = ENTERPRISE, amount: str = "800000.00") -> dict[str, Any]:
    return {"kind": "challenge_award", "recipient": recipient, "amount": amount, "basis_reference": challenge_id}


async def _landed(system: InProcessSystem, nats_url: str) -> str:
    challenge_id = uuid.uuid4().hex
    await publish_event(
        nats_url, "pricing.challenge.landed", challenge_id,
        {"challenge_id": challenge_id, "landed_on": "2030-06-01", "direction": "technology_wanted", "publisher": ENTERPRISE,
         "awarded_response_id": "r1", "responder": {"name": "东北大学", "credit_code": "12210000NEU"}, "enterprise": ENTERPRISE},
    )

    async def known() -> bool:
        async with system.runtime("finance").sessions() as session:
            return await repository.get_landed_challenge(session, challenge_id) is not None

    await eventually(known, timeout=10)
    return challenge_id


async def test_challenge_award_goes_once_to_the_landed_challenges_enterprise(system: InProcessSystem, nats_url: str) -> None:
    not_landed = uuid.uuid4().hex
    problem(await _post(system, _challenge_award(not_landed)), 422, "FIN-8")
    challenge_id = await _landed(system, nats_url)
    problem(await _post(system, _challenge_award(challenge_id, {"name": "东北大学", "credit_code": "12210000NEU"})), 422, "FIN-8")
    granted = await _post(system, _challenge_award(challenge_id))
    assert granted.status_code == 201, granted.text
    assert (granted.json()["basis_reference"], granted.json()["recipient"]) == (challenge_id, ENTERPRISE)
    problem(await _post(system, _challenge_award(challenge_id, amount="1.00")), 409, "FIN-8")


async def test_concurrent_awards_for_one_challenge_grant_exactly_one(system: InProcessSystem, nats_url: str) -> None:
    challenge_id = await _landed(system, nats_url)
    responses = await asyncio.gather(*[_post(system, _challenge_award(challenge_id)) for _ in range(10)])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9, [r.text for r in responses]
    assert {r.json()["rule"] for r in responses if r.status_code == 409} == {"FIN-8"}


async def _evaluated(nats_url: str, system: InProcessSystem, *, kind: str, rating: str, level: str | None = None, year: int = 2030) -> str:
    institution_id = uuid.uuid4().hex
    await publish_event(
        nats_url, "ownership.institution.evaluated", institution_id,
        {"institution_id": institution_id, "evaluation_id": uuid.uuid4().hex, "kind": kind, "name": "园区", "unit_ids": ["u1"],
         "level": level, "year": year, "rating": rating, "evaluated_by": "省科技厅"},
    )

    async def known() -> bool:
        async with system.runtime("finance").sessions() as session:
            return await repository.get_evaluation(session, institution_id, year) is not None

    await eventually(known, timeout=10)
    return institution_id


def _institution_award(kind: str, institution_id: str, amount: str = "500000.00", year: int | None = 2030) -> dict[str, Any]:
    body = {"kind": kind, "recipient": PARK, "amount": amount, "basis_reference": f"{year}年度评估优秀", "institution_id": institution_id}
    return body if year is None else {**body, "evaluation_year": year}


async def test_excellent_science_park_gets_at_most_500000_once_per_year(system: InProcessSystem, nats_url: str) -> None:
    park = await _evaluated(nats_url, system, kind="science_park", rating="excellent")
    problem(await _post(system, _institution_award("science_park", park, "500000.01")), 422, "FIN-8")
    problem(await _post(system, _institution_award("science_park", park, year=None)), 422, "FIN-8")
    problem(await _post(system, _institution_award("science_park", park, year=2031)), 422, "FIN-8")  # not evaluated that year
    granted = await _post(system, _institution_award("science_park", park, "500000.00"))
    assert granted.status_code == 201, granted.text
    assert (granted.json()["institution_id"], granted.json()["evaluation_year"]) == (park, 2030)
    problem(await _post(system, _institution_award("science_park", park, "1.00")), 409, "FIN-8")


async def test_a_good_park_or_a_municipal_incubator_is_refused_and_a_provincial_one_awarded(system: InProcessSystem, nats_url: str) -> None:
    good = await _evaluated(nats_url, system, kind="science_park", rating="good")
    problem(await _post(system, _institution_award("science_park", good)), 422, "FIN-8")
    municipal = await _evaluated(nats_url, system, kind="incubator", rating="excellent", level="municipal")
    problem(await _post(system, _institution_award("incubator", municipal)), 422, "FIN-8")
    provincial = await _evaluated(nats_url, system, kind="incubator", rating="excellent", level="provincial")
    problem(await _post(system, _institution_award("science_park", provincial)), 422, "FIN-8")  # an incubator, not a park
    assert (await _post(system, _institution_award("incubator", provincial))).status_code == 201
    listed = await system.clients["finance"].get(
        "/api/v1/subsidies", params={"kind": "incubator", "limit": 200}, headers=system.auth("department")
    )
    assert listed.status_code == 200 and any(s["institution_id"] == provincial for s in listed.json()["items"])
    assert (await system.clients["finance"].post(
        "/api/v1/subsidies", json=_institution_award("incubator", provincial), headers=system.auth("department")
    )).status_code == 403


async def test_a_challenge_id_with_control_characters_or_dot_segments_is_a_refusal_never_a_5xx(system: InProcessSystem) -> None:
    for reference in ("abc\x01def", "../../internal/test-clock", "x\ny", "%2e%2e/units", "a\x00b"):
        response = await _post(system, _challenge_award(reference))
        assert response.status_code == 422, (reference, response.status_code, response.text)
