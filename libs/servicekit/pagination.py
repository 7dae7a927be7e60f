"""Cursor pagination: `?limit=` (1–200, default 50) and an opaque `?cursor=`."""
from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel

from servicekit.errors import InvalidInput

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="page size, 1–200")]
Cursor = Annotated[str | None, Query(description="opaque cursor from the previous page's `next_cursor`")]


class Page(BaseModel, Generic[T]):
    """A page of a list: `{"items": [...], "next_cursor": ...}`."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: Sequence[Any]) -> str:
    """Opaque cursor for the sort key of the last item on a page."""
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key a cursor stands for; a cursor we did not make is a 422."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:
        raise InvalidInput("invalid cursor") from exc
    if not isinstance(key, list):
        raise InvalidInput("invalid cursor")
    return key


def page_of(rows: Sequence[Any], limit: int, key: Callable[[Any], Sequence[Any]], convert: Callable[[Any], T]) -> Page[T]:
    """Build a page from `limit + 1` fetched rows (the extra one only says there is more)."""
    more = len(rows) > limit
    shown = list(rows[:limit])
    return Page[Any](
        items=[convert(row) for row in shown],
        next_cursor=encode_cursor(key(shown[-1])) if more and shown else None,
    )
