"""Value types shared by the API schemas and the event payloads."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, WithJsonSchema

_DECIMAL_TEXT = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")
TWO_PLACES = Decimal("0.01")


class Strict(BaseModel):
    """The base of every request body: unknown fields are refused, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


def parse_two_place_decimal(value: Any) -> Decimal:
    """Money and percentages travel as decimal strings (API.md §2); a JSON number is refused."""
    if isinstance(value, Decimal):
        return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    if not isinstance(value, str):
        raise ValueError("must be a decimal string such as \"150000.00\", not a JSON number")
    if not _DECIMAL_TEXT.match(value.strip()):
        raise ValueError("must be a decimal string with at most 2 places, such as \"150000.00\"")
    try:
        return Decimal(value.strip()).quantize(TWO_PLACES)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guards this
        raise ValueError("not a decimal") from exc


def format_two_places(value: Decimal) -> str:
    """Render a decimal with exactly two places."""
    return str(value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


_DECIMAL_SCHEMA = {"type": "string", "pattern": r"^-?\d{1,15}(\.\d{1,2})?$", "examples": ["150000.00"]}

Money = Annotated[
    Decimal,
    BeforeValidator(parse_two_place_decimal),
    PlainSerializer(format_two_places, return_type=str),
    WithJsonSchema(_DECIMAL_SCHEMA),
]
"""CNY amount: a decimal string with 2 places."""

Percent = Annotated[
    Decimal,
    BeforeValidator(parse_two_place_decimal),
    PlainSerializer(format_two_places, return_type=str),
    WithJsonSchema(_DECIMAL_SCHEMA),
]
"""A percentage: a decimal string with 2 places (\"90.00\")."""


class UnitPolicy(BaseModel):
    """A unit's own periods (RULES.md: numbers left to the unit are unit policy settings)."""

    notice_days: int = 15
    review_request_days: int = 15
    patent_change_days: int = 90
    min_meeting_attendees: int = 3
    """EXE-5: attendees a collective decision needs at least (never below 2; ownership validates it)."""
