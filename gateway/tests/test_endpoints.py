"""The gateway's own endpoints: health, readiness, metrics, docs, test clock, 404/405."""
from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from pydantic import SecretStr

from servicekit.settings import SERVICES

PROBLEM = "application/problem+json"


async def test_healthz_answers_without_asking_the_services(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["x-request-id"]) == 32


async def test_readyz_is_200_when_every_service_is_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["services"] == {name: "ready" for name in SERVICES}


async def test_readyz_is_503_naming_the_service_that_is_not_ready(client: httpx.AsyncClient, stubs) -> None:
    stubs["exemption"].ready = False
    try:
        response = await client.get("/readyz")
    finally:
        stubs["exemption"].ready = True
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert "exemption" in response.json()["detail"]
    assert "pricing" not in response.json()["detail"]


async def test_readyz_is_503_when_a_service_is_unreachable(start_gateway, make_settings, stub_urls, free_port) -> None:
    async with start_gateway(make_settings({**stub_urls, "pricing": f"http://127.0.0.1:{free_port()}"})) as gateway:
        response = await gateway.get("/readyz")
    assert response.status_code == 503
    assert "pricing" in response.json()["detail"]


async def test_metrics_count_requests_by_service_method_and_status(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/rewards", json={}, headers={"x-stub-status": "201"})
    text = (await client.get("/metrics")).text
    assert 'kezhuan_gateway_requests_total{method="POST",service="finance",status="201"}' in text
    assert 'kezhuan_gateway_request_duration_seconds_bucket{le="+Inf",service="finance"}' in text


async def test_docs_is_a_self_contained_page_linking_the_documents(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text and "/asyncapi.json" in response.text
    assert "https://" not in response.text


@pytest.mark.parametrize("path", ["/nowhere", "/api", "/api/v1", "/docs/extra"])
async def test_unknown_routes_are_404_problems(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(("method", "path"), [("POST", "/healthz"), ("DELETE", "/openapi.json"), ("GET", "/api/v1/test-clock")])
async def test_wrong_methods_are_405_problems(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


async def test_setting_the_test_clock_reaches_every_service_with_the_same_set_at(
    client: httpx.AsyncClient, stubs
) -> None:
    for stub in stubs.values():
        stub.clock_calls.clear()
    response = await client.put("/api/v1/test-clock", json={"now": "2030-01-01T09:00:00+08:00"})
    assert response.status_code == 200
    assert response.json() == {"now": "2030-01-01T09:00:00+08:00"}
    bodies = [stub.clock_calls[-1] for stub in stubs.values()]
    assert all(method == "PUT" for method, _ in bodies)
    assert {body["now"] for _, body in bodies} == {"2030-01-01T09:00:00+08:00"}
    set_at = {body["set_at"] for _, body in bodies}
    assert len(set_at) == 1
    assert datetime.fromisoformat(set_at.pop()).tzinfo is not None


async def test_deleting_the_test_clock_reaches_every_service(client: httpx.AsyncClient, stubs) -> None:
    response = await client.delete("/api/v1/test-clock")
    assert response.status_code == 200
    assert datetime.fromisoformat(response.json()["now"]).tzinfo is not None
    assert all(stub.clock_calls[-1] == ("DELETE", None) for stub in stubs.values())


@pytest.mark.parametrize(
    "body",
    [b'{"now": "2030-01-01T09:00:00"}', b"{}", b'{"now": 1893456000}', b'{"now": "soon"}', b"not json", b""],
)
async def test_an_invalid_test_clock_body_is_a_422_problem(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.put("/api/v1/test-clock", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_the_test_clock_names_the_service_that_could_not_be_reached(
    start_gateway, make_settings, stub_urls, free_port
) -> None:
    async with start_gateway(make_settings({**stub_urls, "finance": f"http://127.0.0.1:{free_port()}"})) as gateway:
        response = await gateway.put("/api/v1/test-clock", json={"now": "2030-01-01T09:00:00+08:00"})
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert "finance" in response.json()["detail"]


async def test_there_is_no_test_clock_in_production(start_gateway, make_settings, stub_urls, stubs) -> None:
    settings = make_settings(stub_urls, env="production", jwt_secret=SecretStr("p" * 40))
    calls_before = sum(len(stub.clock_calls) for stub in stubs.values())
    async with start_gateway(settings) as gateway:
        for method in ("PUT", "DELETE"):
            response = await gateway.request(method, "/api/v1/test-clock", json={"now": "2030-01-01T09:00:00+08:00"})
            assert response.status_code == 404
            assert response.headers["content-type"] == PROBLEM
        paths = (await gateway.get("/openapi.json")).json()["paths"]
    assert "/api/v1/test-clock" not in paths
    assert sum(len(stub.clock_calls) for stub in stubs.values()) == calls_before
