"""Transformation institutions and their annual evaluations (M (十)): ORG-1; technology managers (M (十一)): ORG-2."""
from __future__ import annotations

from servicekit.errors import InvalidState, PolicyViolation

INSTITUTION_KINDS = ("transfer_office", "science_park", "incubator")
INCUBATOR_LEVELS = ("national", "provincial", "municipal", "other")
RATINGS = ("excellent", "good", "pass", "fail")


def check_institution(kind: str, unit_ids: list[str], level: str | None) -> None:
    """ORG-1: a transfer office belongs to one unit; a science park serves one or several (一校一园 / 多校一园);
    an incubator states its level."""
    if len(set(unit_ids)) != len(unit_ids):
        raise PolicyViolation("ORG-1", "unit_ids names a unit twice")
    if kind == "transfer_office" and len(unit_ids) != 1:
        raise PolicyViolation("ORG-1", "a technology-transfer office belongs to exactly one unit")
    if kind == "science_park" and not unit_ids:
        raise PolicyViolation("ORG-1", "a university science park serves at least one unit")
    if kind == "incubator" and level is None:
        raise PolicyViolation("ORG-1", "an incubator needs its level (national, provincial, municipal or other)")


def check_evaluation_year_free(year: int, evaluated_years: set[int]) -> None:
    """ORG-1: one evaluation per institution and year."""
    if year in evaluated_years:
        raise InvalidState(f"the institution was already evaluated for {year}", rule="ORG-1")


def check_technology_manager(unit_id: str | None, institution_id: str | None) -> None:
    """ORG-2: a registered technology manager belongs to a unit or an institution."""
    if unit_id is None and institution_id is None:
        raise PolicyViolation("ORG-2", "a technology manager needs unit_id or institution_id")
