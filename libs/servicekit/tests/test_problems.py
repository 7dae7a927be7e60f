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
