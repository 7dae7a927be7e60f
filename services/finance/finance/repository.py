"""All finance queries."""
from __future__ import annotations
