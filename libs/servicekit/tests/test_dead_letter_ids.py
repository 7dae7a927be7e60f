"""A dead-letter id that cannot exist is a 404, never a 500 (schemathesis found `0` answered 500)."""
from __future__ import annotations

import pytest

from servicekit.testing import InProcessSystem


@pytest.mark.parametrize("dead_letter_id", ["0", "-1", "999999999999"])
async def test_a_dead_letter_id_outside_the_stream_is_not_found(system: InProcessSystem, dead_letter_id: str) -> None:
    client, admin = system.clients["pricing"], system.auth("platform_admin")
    shown = await client.get(f"/api/v1/dead-letters/{dead_letter_id}", headers=admin)
    redriven = await client.post(f"/api/v1/dead-letters/{dead_letter_id}/redrive", headers=admin)
    assert (shown.status_code, redriven.status_code) == (404, 404), (shown.text, redriven.text)
    assert shown.headers["content-type"] == "application/problem+json"
