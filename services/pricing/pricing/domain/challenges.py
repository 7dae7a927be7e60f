"""Two-way challenge lists (双向揭榜挂帅, PRC-10, M (八)): open → awarded → landed."""
from __future__ import annotations

from enum import StrEnum

from servicekit.errors import Forbidden, InvalidState, PolicyViolation

DIRECTIONS = ("technology_wanted", "market_wanted")  # PRC-10
RESPONDER_ROLES = ("enterprise", "unit_admin", "researcher")  # PRC-10: parties that take up (揭榜) a challenge


class ChallengeState(StrEnum):
    """Where a challenge stands."""

    OPEN = "open"
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


def check_open_for_responses(state: str) -> None:
    """PRC-10: responses are taken while the challenge is open."""
    if state != ChallengeState.OPEN:
        raise InvalidState("the challenge no longer takes responses", rule="PRC-10")


def award(state: str) -> ChallengeState:
    """PRC-10: an open challenge is awarded to one response."""
    if state != ChallengeState.OPEN:
        raise InvalidState("only an open challenge can be awarded", rule="PRC-10")
    return ChallengeState.AWARDED


def land(state: str) -> ChallengeState:
    """PRC-10: only an awarded challenge lands (the basis of the enterprise's post-subsidy, FIN-8)."""
    if state != ChallengeState.AWARDED:
        raise InvalidState("only an awarded challenge can land", rule="PRC-10")
    return ChallengeState.LANDED
