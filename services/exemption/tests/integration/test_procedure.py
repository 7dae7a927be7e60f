"""The determination procedure through HTTP, each rule at its edges (EXE-3 … EXE-10)."""
from __future__ import annotations

from servicekit.testing import InProcessSystem

from .cases import open_case


async def test_case_walks_from_opening_to_confirmation(system: InProcessSystem) -> None:
    case = await open_case(system)
    await case.prepare()
    decided = await case.decide("meets")
    assert decided["state"] == "awaiting_confirmation"
    assert decided["conclusion"] == "meets"
    closed = await case.ok("/confirmation", {}, headers=case.subject)
    assert closed["state"] == "closed"
    assert closed["closed_reason"] == "confirmed"
