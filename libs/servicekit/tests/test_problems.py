"""problem+json details that clients and fuzzers rely on."""
from __future__ import annotations

import httpx
from fastapi import FastAPI

from servicekit.problems import PROBLEM_RESPONSES, install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/things/{thing_id}")
    async def read(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.delete("/things/{thing_id}")
    async def remove(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.post("/things")
    async def create(body: dict[str, str]) -> dict[str, str]:
        return body

    return app


async def test_405_allow_names_every_method_of_the_path_not_only_the_first_routes() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        response = await client.put("/things/7")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "DELETE, GET"


async def test_a_body_that_is_not_utf_8_is_a_documented_400_problem() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        response = await client.post("/things", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert 400 in PROBLEM_RESPONSES


async def test_text_with_a_nul_character_is_never_a_server_error(system) -> None:
    """PostgreSQL cannot store NUL in text: that is bad input (422), not a 500 (found by schemathesis)."""
    client = system.clients["ownership"]
    unit = await system.register_unit()
    listed = await client.get("/api/v1/achievements", params={"unit_id": "a\x00b"}, headers=system.auth("platform_admin"))
    body = {
        "unit_id": unit["id"], "title": "催化剂\x00", "kind": "patent", "ip_rights": [],
        "completers": [{"person_id": "p-1", "name": "张三"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
        "ethics_review_required": False,
    }
    created = await client.post("/api/v1/achievements", json=body, headers=system.auth("unit_admin", unit["id"]))
    # SQLite stores NUL, so there the requests succeed; PostgreSQL refuses it and the client gets a 422.
    assert listed.status_code in (200, 422), listed.text
    assert created.status_code in (201, 422), created.text
    for response in (listed, created):
        if response.status_code == 422:
            assert response.headers["content-type"] == "application/problem+json"
            assert "NUL" in response.json()["detail"]
