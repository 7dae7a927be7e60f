"""Two-way challenge lists (双向揭榜挂帅, PRC-10, M (八)): open → (closed) → awarded → landed.

`closed` is not stored: an open challenge whose closing day (Asia/Shanghai) has passed reads as
closed, so the state never lags behind the clock.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from servicekit.errors import Forbidden, InvalidState, PolicyViolation

DIRECTIONS = ("technology_wanted", "market_wanted")  # PRC-10
RESPONDER_ROLES = ("enterprise", "unit_admin", "researcher")  # PRC-10: parties that take up (揭榜) a challenge


class ChallengeState(StrEnum):
    """Where a challenge stands."""

    OPEN = "open"
    CLOSED = "closed"
    AWARDED = "awarded"
    LANDED = "landed"


def publisher_role(direction: str) -> str:
    """PRC-10: enterprises publish what they seek (technology_wanted); units publish achievements seeking a market."""
    if direction not in DIRECTIONS:
        raise PolicyViolation("PRC-10", f"direction must be one of {', '.join(DIRECTIONS)}")
    return "enterprise" if direction == "technology_wanted" else "unit_admin"


def check_market_wanted_achievement(direction: str, achievement_id: str | None) -> None:
    """PRC-10: an achievement seeking a market names that achievement."""
    if direction == "market_wanted" and not achievement_id:
        raise PolicyViolation("PRC-10", "a market_wanted challenge names the achievement of the unit")


def check_may_decide(*, caller_sub: str, publisher_sub: str, is_platform_admin: bool) -> None:
    """PRC-10: only the publisher (or the platform administrator) awards and confirms landing."""
    if not is_platform_admin and caller_sub != publisher_sub:
        raise Forbidden("only the publisher of the challenge or a platform administrator may do this")


def effective_state(stored: str, closes_on: date | None, today: date) -> ChallengeState:
    """PRC-10: an open challenge is closed once its closing day has passed."""
    if stored == ChallengeState.OPEN and closes_on is not None and today > closes_on:
        return ChallengeState.CLOSED
    return ChallengeState(stored)


def check_listing_terms(field: str | None, region: str | None, closes_on: date | None, today: date) -> None:
    """PRC-10: a challenge names its field (industry), its region and a closing day that is not already past."""
    missing = [name for name, value in (("field", field), ("region", region), ("closes_on", closes_on)) if not value]
    if missing:
        raise PolicyViolation("PRC-10", f"a challenge names its {', '.join(missing)}")
    assert closes_on is not None
    if closes_on < today:
        raise PolicyViolation("PRC-10", "closes_on is in the past")


def check_open_for_responses(stored: str, closes_on: date | None, today: date) -> None:
    """PRC-10: responses are taken through the end of the closing day (Asia/Shanghai)."""
    state = effective_state(stored, closes_on, today)
    if state is ChallengeState.CLOSED:
        raise InvalidState(f"the challenge closed on {closes_on}; responses are no longer taken", rule="PRC-10")
    if state is not ChallengeState.OPEN:
        raise InvalidState("the challenge has been awarded and takes no more responses", rule="PRC-10")


def award(stored: str) -> ChallengeState:
    """PRC-10: a challenge is awarded once, to one response (also after its closing day)."""
    if stored != ChallengeState.OPEN:
        raise InvalidState("the challenge has already been awarded", rule="PRC-10")
    return ChallengeState.AWARDED


def entitled_enterprise(direction: str, publisher: dict[str, Any], responder: dict[str, Any] | None) -> dict[str, Any] | None:
    """PRC-10/FIN-8: the enterprise entitled to the subsidy — the publisher of technology_wanted, the awarded responder of market_wanted."""
    party = publisher if direction == "technology_wanted" else responder
    return None if party is None else {"name": party.get("name"), "credit_code": party.get("credit_code")}


def land(state: str) -> ChallengeState:
    """PRC-10: only an awarded challenge lands (the basis of the enterprise's post-subsidy, FIN-8)."""
    if state != ChallengeState.AWARDED:
        raise InvalidState("only an awarded challenge can land", rule="PRC-10")
    return ChallengeState.LANDED
