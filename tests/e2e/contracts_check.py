"""Checks of the published API documents as integrators use them: AsyncAPI 3.0 validity and coverage."""
from __future__ import annotations

from typing import Any

from pydantic_asyncapi.v3 import AsyncAPI

from servicekit.testing import eventually
from tests.e2e.conftest import RunningSystem


def _resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer (`#/a/b`) names; KeyError when it does not resolve."""
    assert ref.startswith("#/"), f"only local refs are published: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def assert_valid_asyncapi_3(document: dict[str, Any]) -> None:
    """The document is AsyncAPI 3.0.0 (per the spec's object model) and every $ref resolves."""
    assert document["asyncapi"] == "3.0.0"
    AsyncAPI.model_validate(document)
    unresolved = []
    for ref in set(_refs(document)):
        try:
            _resolve(document, ref)
        except (KeyError, TypeError):
            unresolved.append(ref)
    assert unresolved == [], unresolved
    for name, operation in document["operations"].items():
        channel = _resolve(document, operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert message["$ref"].startswith(operation["channel"]["$ref"] + "/messages/"), (name, message)
        assert channel["address"].startswith("kezhuan."), name


async def catalogued_event_types(running: RunningSystem) -> set[str]:
    """The event types `/asyncapi.json` documents (one message per type, titled with the type)."""
    response = await running.http.get("/asyncapi.json")
    assert response.status_code == 200, response.text
    document = response.json()
    assert_valid_asyncapi_3(document)
    return {message["title"] for message in document["components"]["messages"].values()}


async def assert_every_seen_event_is_catalogued(running: RunningSystem, expected_at_least: set[str]) -> None:
    """Every event type on the stream is in the AsyncAPI catalogue, and the journeys produced the expected ones."""

    async def all_published() -> set[str] | None:
        # The outbox relay publishes after commit, so the last events may still be on their way.
        seen = await running.event_types()
        return seen if expected_at_least <= seen else None

    seen = await eventually(all_published, timeout=10)
    assert seen - await catalogued_event_types(running) == set()
