"""The pay-later pool (M (五)): OWN-10."""
from __future__ import annotations

import calendar
from datetime import date

from servicekit.clock import add_years
from servicekit.errors import PolicyViolation

POOL_YEARS = 3  # OWN-10: IP right obtained ≥ 3 years ago


def pool_cutoff(today: date) -> date:
    """OWN-10: the latest grant day that is ≥ 3 years before `today` (granted_on ≤ cutoff ⇔ in the pool by age).

    Defined through `add_years(granted_on, 3) ≤ today`, so 29 Feb counts as reaching 3 years on 28 Feb.
    """
    cutoff = add_years(today, -POOL_YEARS)
    if cutoff.month == 2 and cutoff.day == 28 and today.month == 2 and today.day == 28 and calendar.isleap(cutoff.year):
        return date(cutoff.year, 2, 29)
    return cutoff


def is_pool_member(
    *,
    first_granted_on: date | None,
    transformed: bool,
    national_interest: bool,
    excluded: bool,
    today: date,
) -> bool:
    """OWN-10 (and OWN-12: never a national-interest achievement): old enough, not transformed, not excluded."""
    if first_granted_on is None or transformed or national_interest or excluded:
        return False
    return first_granted_on <= pool_cutoff(today)


def check_exclusion_reason(reason: str | None) -> None:
    """OWN-10: the unit takes an achievement out of the pool only with a recorded reason."""
    if reason is None or not reason.strip():
        raise PolicyViolation("OWN-10", "taking an achievement out of the pool needs a reason")
