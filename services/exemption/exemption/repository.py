"""All exemption queries."""
from __future__ import annotations
