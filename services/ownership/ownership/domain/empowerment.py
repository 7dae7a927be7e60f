"""Empowerment rules (M (一)): OWN-1 shares, OWN-2 term, OWN-4 conversion,
OWN-5 decision, OWN-6 patent-change follow-up (OWN-3, the extension, is the aggregate's: domain/achievement.py)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from servicekit.clock import add_years
from servicekit.errors import InvalidState, PolicyViolation

HUNDRED = Decimal("100.00")
MIN_USAGE_RIGHT_YEARS = 10  # OWN-2, M (一) "长期使用权"


class EmpowermentType(StrEnum):
    OWNERSHIP = "ownership"
    USAGE_RIGHT = "usage_right"


class PatentChangeState(StrEnum):
    PENDING = "pending"
    OVERDUE = "overdue"
    REGISTERED = "registered"


def is_blank(value: str | None) -> bool:
    """True for a missing or whitespace-only text."""
    return value is None or not value.strip()


def check_decision(rule: str, body: str | None, on: date | None, reference: str | None) -> None:
    """A unit decision (body, date, reference) must be recorded; `rule` names the rule requiring it (OWN-5 …)."""
    if is_blank(body) or on is None or is_blank(reference):
        raise PolicyViolation(rule, "the unit's decision needs body, date and reference")


def check_shares(team_share: Decimal | None, unit_share: Decimal | None) -> None:
    """OWN-1: unit and team become co-owners: unit share + team share = 100.00, both above 0. The unit's
    whole share passes to the team only by an equity transfer (OWN-11, M (六))."""
    if team_share is None or unit_share is None:
        raise PolicyViolation("OWN-1", "an ownership empowerment needs team_share and unit_share")
    if team_share <= 0 or unit_share <= 0:
        raise PolicyViolation(
            "OWN-1", "unit and team are co-owners: both shares must be above 0 (100% to the team only by equity transfer, OWN-11)"
        )
    if team_share + unit_share != HUNDRED:
        raise PolicyViolation("OWN-1", f"team_share + unit_share must be 100.00, not {team_share + unit_share}")


def check_usage_right_term(start_on: date | None, end_on: date | None) -> None:
    """OWN-2: a long-term usage right runs at least 10 years (end_on ≥ start_on + 10 years)."""
    if start_on is None or end_on is None:
        raise PolicyViolation("OWN-2", "a usage right needs start_on and end_on")
    if start_on.year + MIN_USAGE_RIGHT_YEARS > date.max.year:
        raise PolicyViolation("OWN-2", "a usage right starting then cannot run 10 years within the calendar")
    if end_on < add_years(start_on, MIN_USAGE_RIGHT_YEARS):
        raise PolicyViolation("OWN-2", "a usage right must run at least 10 years")


def check_conversion(
    empowerment_type: str,
    end_on: date | None,
    today: date,
    *,
    unit_consent: bool,
    team_consent: bool,
) -> None:
    """OWN-4: a usage right converts to ownership during its term, with both consents recorded."""
    if empowerment_type != EmpowermentType.USAGE_RIGHT or end_on is None:
        raise InvalidState("only a usage right can be converted to ownership", rule="OWN-4")
    if today > end_on:
        raise InvalidState(f"the usage right's term ended on {end_on}; it can no longer be converted", rule="OWN-4")
    if not (unit_consent and team_consent):
        raise PolicyViolation("OWN-4", "conversion needs the consent of both the unit and the team")


def term_state(empowerment_type: str, end_on: date | None, today: date) -> str:
    """`active`, or `expired` for a usage right whose term ended (OWN-3 may revive it)."""
    if empowerment_type == EmpowermentType.USAGE_RIGHT and end_on is not None and today > end_on:
        return "expired"
    return "active"


def patent_change_due_on(recorded_on: date, patent_change_days: int) -> date:
    """OWN-6: the change is due `patent_change_days` after the (Shanghai) day the empowerment was recorded."""
    return recorded_on + timedelta(days=patent_change_days)


def patent_change_state(state: str, due_on: date, today: date) -> str:
    """OWN-6: a pending change becomes `overdue` once today is after `due_on`; registered stays registered."""
    if state == PatentChangeState.PENDING and today > due_on:
        return PatentChangeState.OVERDUE
    return state


def check_patent_change_open(state: str) -> None:
    """OWN-6: the follow-up is registered once."""
    if state == PatentChangeState.REGISTERED:
        raise InvalidState("the patent change is already registered", rule="OWN-6")
