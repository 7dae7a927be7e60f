"""Ownership's event handlers (idempotent through the inbox)."""
from __future__ import annotations

from servicekit.consumers import ConsumerSpec

CONSUMERS: list[ConsumerSpec] = []
