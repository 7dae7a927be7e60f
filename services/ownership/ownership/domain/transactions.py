"""Pricing transactions as the rights record sees them (OWN-16): open until concluded, withdrawn or failed."""
from __future__ import annotations

from enum import StrEnum
from typing import Any


class TransactionState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CONCLUDED = "concluded"


def closing_state(state: str, step: str, details: dict[str, Any]) -> str:
    """A withdrawal, or an auction that closed without a winner, closes an open transaction; a won auction
    concludes it by its deal instead, and nothing reopens a transaction that ended."""
    if state != TransactionState.OPEN:
        return state
    if step == "withdrawn" or (step == "auction_closed" and not details.get("winning_bid_id")):
        return TransactionState.CLOSED
    return state
