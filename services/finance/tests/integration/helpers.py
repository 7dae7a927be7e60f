"""Small helpers shared by finance's integration tests."""
from __future__ import annotations

from typing import Any

import httpx


def problem(response: httpx.Response, status: int, rule: str | None = None) -> dict[str, Any]:
    """Assert a problem+json refusal with the given status and rule."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body.get("rule") == rule, body
    return body
