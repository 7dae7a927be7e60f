"""A lookup path that no URL can carry, or that climbs out of its endpoint, names nothing (404 upstream)."""
from __future__ import annotations

from servicekit.runtime import _is_plain_path


def test_control_characters_and_dot_segments_are_no_lookup_path() -> None:
    assert _is_plain_path("/api/v1/transactions/7f3a")
    assert _is_plain_path("/api/v1/transactions/%E5%82%AC")
    assert not _is_plain_path("/api/v1/transactions/\x7f1")
    assert not _is_plain_path("/api/v1/transactions/a b")
    assert not _is_plain_path("/api/v1/transactions/../units/1")
    assert not _is_plain_path("/api/v1/transactions/./x")
