"""Pricing's event handlers (idempotent through the inbox)."""
from __future__ import annotations

from pricing.models import UNIT_POLICIES
from servicekit.consumers import ConsumerSpec
from servicekit.units import unit_policy_consumer

CONSUMERS: list[ConsumerSpec] = [unit_policy_consumer(UNIT_POLICIES)]
