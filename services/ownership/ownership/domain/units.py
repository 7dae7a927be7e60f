"""Unit rules (SCO-1) and unit policy settings (periods left to the unit by the measures)."""
from __future__ import annotations

from servicekit.errors import PolicyViolation

UNIT_TYPES = ("university", "research_institute", "medical_institution")  # SCO-1


def check_unit_type(unit_type: str) -> None:
    """SCO-1: only provincial universities, research institutes and medical/health institutions."""
    if unit_type not in UNIT_TYPES:
        raise PolicyViolation("SCO-1", f"a unit is one of {', '.join(UNIT_TYPES)}, not {unit_type!r}")
