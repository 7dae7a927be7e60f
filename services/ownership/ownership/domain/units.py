"""Unit rules (SCO-1) and unit policy settings (periods left to the unit by the measures)."""
from __future__ import annotations

from servicekit.errors import PolicyViolation

UNIT_TYPES = ("university", "research_institute", "medical_institution")  # SCO-1
MIN_MEETING_ATTENDEES_FLOOR = 2  # EXE-5: one person is not a collective


def check_unit_type(unit_type: str) -> None:
    """SCO-1: only provincial universities, research institutes and medical/health institutions."""
    if unit_type not in UNIT_TYPES:
        raise PolicyViolation("SCO-1", f"a unit is one of {', '.join(UNIT_TYPES)}, not {unit_type!r}")


def check_min_meeting_attendees(value: int | None) -> None:
    """EXE-5: a collective decision needs at least the unit's `min_meeting_attendees`, never below 2."""
    if value is not None and value < MIN_MEETING_ATTENDEES_FLOOR:
        raise PolicyViolation("EXE-5", f"min_meeting_attendees is at least {MIN_MEETING_ATTENDEES_FLOOR}, not {value}")
