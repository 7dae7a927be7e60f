"""API.md §2 conventions on the merged OpenAPI document, built from the real services' documents."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.openapi import HTTP_METHODS
from servicekit.settings import SERVICES
from tools.merged_openapi import merged_openapi

PUBLIC_OPERATIONS = [
    # API.md §2: active notices, active listings, pools and their publications, challenges — and
    # the auction of an active listing; the test clock needs no token either. An endpoint the
    # contract makes public belongs here; any other operation must name its bearer token.
    ("DELETE", "/api/v1/test-clock"),
    ("GET", "/api/v1/auctions/{auction_id}"),
    ("GET", "/api/v1/challenges"),
    ("GET", "/api/v1/challenges/{challenge_id}"),
    ("GET", "/api/v1/financial-products"),  # §6: financial products are public (FIN-11)
    ("GET", "/api/v1/financial-products/{product_id}"),
    ("GET", "/api/v1/institutions"),  # §3: institutions are public (ORG-1)
    ("GET", "/api/v1/institutions/{institution_id}"),
    ("GET", "/api/v1/listings"),
    ("GET", "/api/v1/listings/{listing_id}"),
    ("GET", "/api/v1/notices"),
    ("GET", "/api/v1/notices/{notice_id}"),
    ("GET", "/api/v1/units/{unit_id}/pool"),
    ("GET", "/api/v1/units/{unit_id}/pool/publications/{number}"),
    ("PUT", "/api/v1/test-clock"),
]

OPTIONAL_TOKEN_OPERATIONS = [
    # PRC-5: anyone may object, with a token or anonymously with a contact.
    ("POST", "/api/v1/notices/{notice_id}/objections"),
]

@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document the gateway serves once every service has answered."""
    return merged_openapi()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def _object_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named schema, and every schema written inline in a response."""
    yield from document["components"]["schemas"].items()
    for method, path, operation in _operations(document):
        for status, response in operation.get("responses", {}).items():
            for media, content in response.get("content", {}).items():
                yield f"{method} {path} {status} {media}", content.get("schema", {})


def test_every_schema_with_items_also_has_next_cursor(document: dict[str, Any]) -> None:
    """§2: every response that carries `items` also carries `next_cursor` (the ledger and the record too)."""
    with_items = [(name, schema) for name, schema in _object_schemas(document) if "items" in schema.get("properties", {})]
    assert len(with_items) > 10  # the lists of all four services, so the check below is not vacuous
    assert [name for name, schema in with_items if "next_cursor" not in schema["properties"]] == []
    for name in ("SeparateLedgerRead", "RecordRead", "PoolPublicationRead"):
        assert "next_cursor" in document["components"]["schemas"][name]["properties"], name


def test_only_the_public_reads_go_without_a_token(document: dict[str, Any]) -> None:
    public = sorted((method, path) for method, path, operation in _operations(document) if operation["security"] == [])
    assert public == PUBLIC_OPERATIONS
    optional = sorted((method, path) for method, path, operation in _operations(document)
                      if {} in operation["security"] and {"HTTPBearer": []} in operation["security"])
    assert optional == OPTIONAL_TOKEN_OPERATIONS
    bearer = [operation["security"] for method, path, operation in _operations(document)
              if operation["security"] != [] and (method, path) not in OPTIONAL_TOKEN_OPERATIONS]
    assert bearer and all(requirement == [{"HTTPBearer": []}] for requirement in bearer)


def test_operator_endpoints_are_documented_with_the_service_they_address(document: dict[str, Any]) -> None:
    for method, path in [
        ("get", "/api/v1/dead-letters"), ("get", "/api/v1/dead-letters/{dead_letter_id}"),
        ("post", "/api/v1/dead-letters/{dead_letter_id}/redrive"), ("get", "/api/v1/outbox"),
        ("get", "/api/v1/audit/verify"),
    ]:
        operation = document["paths"][path][method]
        service = next(p for p in operation["parameters"] if p["name"] == "service")
        assert service["required"] is True
        assert service["schema"]["enum"] == sorted(SERVICES)
