"""The merged OpenAPI document and the AsyncAPI event catalogue."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from contracts.events import CATALOGUE
from gateway.asyncapi import build_asyncapi
from gateway.openapi import merge_openapi
from servicekit.settings import SERVICES


def refs(value: Any) -> Iterator[str]:
    """Every `$ref` string in a document."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (`#/a/b`); KeyError when it points nowhere."""
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def assert_refs_resolve(document: dict[str, Any]) -> None:
    """Every local `$ref` points at something."""
    for ref in refs(document):
        resolve(document, ref)


async def test_merged_openapi_has_every_services_paths_and_valid_refs(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    for path in ("/api/v1/units/{id}", "/api/v1/transactions/{id}", "/api/v1/exemption-cases/{id}", "/api/v1/incomes"):
        assert path in paths
    assert "/internal/test-clock" not in paths
    assert "/api/v1/units/{id}/prices" not in paths  # pricing documents it, but the gateway routes it to ownership
    assert "put" in paths["/api/v1/test-clock"] and "delete" in paths["/api/v1/test-clock"]
    assert "x-kezhuan-missing-services" not in doc
    assert_refs_resolve(doc)


async def test_colliding_schemas_are_renamed_and_their_refs_rewritten(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert {"OwnershipParty", "PricingParty", "OwnershipDeal", "PricingDeal", "Policy", "HTTPValidationError"} <= set(schemas)
    assert "Party" not in schemas and "Deal" not in schemas
    # Client generators name models after `title`, so a renamed schema carries its new name there too.
    assert schemas["PricingParty"].get("title", "PricingParty") == "PricingParty"
    assert schemas["PricingDeal"]["properties"]["party"]["$ref"] == "#/components/schemas/PricingParty"
    achievement = doc["paths"]["/api/v1/achievements"]["post"]["responses"]["200"]
    assert achievement["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/OwnershipDeal"
    assert doc["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "scheme": "bearer"}}


async def test_audit_verify_is_one_operation_with_a_service_parameter(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    operation = doc["paths"]["/api/v1/audit/verify"]["get"]
    service = next(p for p in operation["parameters"] if p["name"] == "service")
    assert service["required"] is True
    assert service["schema"]["enum"] == sorted(SERVICES)
    operation_ids = [
        op["operationId"] for item in doc["paths"].values() for op in item.values() if isinstance(op, dict) and "operationId" in op
    ]
    assert len(operation_ids) == len(set(operation_ids))


async def test_openapi_retries_a_service_that_was_down(start_gateway, make_settings, stub_urls, stubs, free_port, serve_app) -> None:
    port = free_port()
    async with start_gateway(make_settings({**stub_urls, "finance": f"http://127.0.0.1:{port}"})) as gateway:
        first = (await gateway.get("/openapi.json")).json()
        assert first["x-kezhuan-missing-services"] == ["finance"]
        assert "/api/v1/incomes" not in first["paths"]
        assert "/api/v1/units/{id}" in first["paths"]
        async with serve_app(stubs["finance"].app, port):
            second = (await gateway.get("/openapi.json")).json()
    assert "x-kezhuan-missing-services" not in second
    assert "/api/v1/incomes" in second["paths"]
    assert_refs_resolve(second)


def test_security_schemes_that_differ_are_renamed_in_security_requirements_too() -> None:
    def doc(scheme: dict[str, Any], path: str) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "security": [{"Bearer": []}],
            "paths": {path: {"get": {"responses": {"200": {"description": "ok"}}}}},
            "components": {"securitySchemes": {"Bearer": scheme}},
        }

    merged = merge_openapi(
        {
            "ownership": doc({"type": "http", "scheme": "bearer"}, "/api/v1/units"),
            "pricing": doc({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, "/api/v1/notices"),
        }
    )
    assert set(merged["components"]["securitySchemes"]) == {"OwnershipBearer", "PricingBearer"}
    assert merged["paths"]["/api/v1/units"]["get"]["security"] == [{"OwnershipBearer": []}]
    assert merged["paths"]["/api/v1/notices"]["get"]["security"] == [{"PricingBearer": []}]


def test_renaming_is_independent_of_the_order_services_answered_in() -> None:
    def doc(description: str, path: str) -> dict[str, Any]:
        party = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Party"}}}}
        return {
            "paths": {path: {"get": {"responses": {"200": {"description": "ok", **party}}}}},
            "components": {"schemas": {"Party": {"title": "Party", "description": description}}},
        }

    forwards = merge_openapi({"ownership": doc("a", "/api/v1/units"), "pricing": doc("b", "/api/v1/notices")})
    backwards = merge_openapi({"pricing": doc("b", "/api/v1/notices"), "ownership": doc("a", "/api/v1/units")})
    assert forwards == backwards
    assert forwards["components"]["schemas"] == {
        "OwnershipParty": {"title": "OwnershipParty", "description": "a"},
        "PricingParty": {"title": "PricingParty", "description": "b"},
    }


def _service_doc(paths: dict[str, Any], schemas: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "info": {"title": "a service", "version": "1", "description": description},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"HTTPBearer": {"type": "http", "scheme": "bearer"}}},
    }


def _get(ref: str | None = None, *, tags: list[str], secured: bool = True) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}} if ref else {}
    operation: dict[str, Any] = {"tags": tags, "responses": {"200": {"description": "ok", "content": content}}}
    if secured:
        operation["security"] = [{"HTTPBearer": []}]
    return {"get": operation}


def test_the_merged_document_declares_servers_tags_and_security_and_drops_unused_components() -> None:
    pricing = _service_doc(
        {
            "/api/v1/notices": _get("Page", tags=["pricing"], secured=False),  # a public read (PublicCtx)
            "/api/v1/transactions/{id}": _get("Deal", tags=["pricing", "brand new"]),
        },
        {
            "Page": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Row"}}}},
            "Row": {"type": "object"},
            "Deal": {"type": "object"},
            "Leftover": {"type": "object"},  # no operation refers to it
        },
        description="Transactions and their notices.",
    )
    merged = merge_openapi({"pricing": pricing})
    assert merged["servers"] and merged["servers"][0]["url"]
    assert merged["paths"]["/api/v1/notices"]["get"]["security"] == []
    assert merged["paths"]["/api/v1/transactions/{id}"]["get"]["security"] == [{"HTTPBearer": []}]
    assert set(merged["components"]["schemas"]) == {"Page", "Row", "Deal"}  # Row only through Page
    assert merged["components"]["securitySchemes"] == {"HTTPBearer": {"type": "http", "scheme": "bearer"}}
    tags = {tag["name"]: tag["description"] for tag in merged["tags"]}
    assert set(tags) == {"pricing", "brand new"}
    assert tags["brand new"] == "Transactions and their notices."  # no table entry: the service's description
    assert "PRC-" in tags["pricing"]


def test_operator_paths_of_every_service_become_one_operation_with_a_service_parameter() -> None:
    docs = {
        name: _service_doc(
            {"/api/v1/dead-letters": _get("DeadLetterPage", tags=["operations"]), "/api/v1/outbox": _get(tags=["operations"])},
            {"DeadLetterPage": {"type": "object"}},
        )
        for name in ("finance", "ownership")
    }
    merged = merge_openapi(docs)
    for path in ("/api/v1/dead-letters", "/api/v1/outbox"):
        operation = merged["paths"][path]["get"]
        service = next(p for p in operation["parameters"] if p["name"] == "service")
        assert service["required"] is True and service["schema"]["enum"] == ["finance", "ownership"]
    assert merged["components"]["schemas"] == {"DeadLetterPage": {"type": "object"}}


async def test_asyncapi_has_a_channel_for_every_event_type(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/asyncapi.json")).json()
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"]["nats"]["protocol"] == "nats"
    assert set(doc["channels"]) == set(CATALOGUE)
    for event_type, channel in doc["channels"].items():
        assert channel["address"] == f"kezhuan.{event_type}"
    sends: dict[str, int] = {}
    receives = {}
    for name, operation in doc["operations"].items():
        channel = operation["channel"]["$ref"].removeprefix("#/channels/")
        if operation["action"] == "send":
            sends[channel] = sends.get(channel, 0) + 1
        else:
            assert operation["action"] == "receive"
            receives[name] = (channel, operation["summary"])
    assert sends == dict.fromkeys(CATALOGUE, 1)
    # What the services declare at /internal/consumers (the stubs: finance's deal-income only).
    assert receives == {"finance-deal-income.pricing.deal.concluded.receive": ("pricing.deal.concluded", "FIN-1: income")}
    assert_refs_resolve(doc)


def test_asyncapi_payload_is_the_cloudevents_envelope_around_the_payload_model() -> None:
    doc = build_asyncapi(CATALOGUE, nats_url="nats://user:secret@nats.example:4223")
    assert doc["servers"]["nats"]["host"] == "nats.example:4223"  # no credentials
    message = resolve(doc, doc["channels"]["pricing.deal.concluded"]["messages"]["pricing.deal.concluded"]["$ref"])
    envelope, specific = message["payload"]["allOf"]
    assert set(resolve(doc, envelope["$ref"])["required"]) >= {"id", "source", "type", "time", "subject", "data"}
    assert specific["properties"]["type"] == {"const": "pricing.deal.concluded"}
    data = resolve(doc, specific["properties"]["data"]["$ref"])
    assert set(data["required"]) >= {"transaction_id", "unit_id", "achievement_id", "kind", "price", "counterparty", "basis"}
    assert "$defs" not in str(doc)
    # A nested model (UnitPolicy) is moved into components and referenced from there.
    unit = resolve(doc, "#/components/schemas/UnitRegistered")
    assert unit["properties"]["policy"]["$ref"] == "#/components/schemas/UnitPolicy"
    assert_refs_resolve(doc)
