"""All pricing queries."""
from __future__ import annotations
