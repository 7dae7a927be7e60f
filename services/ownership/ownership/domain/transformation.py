"""Separate management (OWN-7), unit autonomy (OWN-8), equity transfer (OWN-11).

Pay-later licences (OWN-9) are licence transactions in pricing; their deal is recorded by the aggregate.

OWN-8 (M (二)): the unit decides transfer, licence and investment on its own — no supervising or
finance department approves or files them. The platform therefore has NO approval gate anywhere:
separate management, equity transfers and licences take effect on the unit's own decision alone.
"""
from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from servicekit.errors import InvalidState, PolicyViolation


class TransferMode(StrEnum):
    RESOURCE_FEE = "resource_fee"
    AGREED_RETURN = "agreed_return"


def check_not_separately_managed(separately_managed: bool) -> None:
    """OWN-7: an achievement enters the separate ledger once."""
    if separately_managed:
        raise InvalidState("the achievement is already separately managed", rule="OWN-7")


def check_equity_transfer(
    *,
    has_ownership_empowerment: bool,
    separately_managed: bool,
    unit_share: Decimal | None,
    mode: str,
    fee: Decimal | None,
    has_enterprise: bool,
) -> None:
    """OWN-11: only an ownership-empowered AND separately managed achievement; the mode's terms are given."""
    if not (has_ownership_empowerment and separately_managed):
        raise PolicyViolation(
            "OWN-11", "an equity transfer needs an active ownership empowerment and separate management"
        )
    if unit_share is not None and unit_share <= 0:
        raise InvalidState("the unit retains no share to transfer", rule="OWN-11")
    if fee is not None and fee <= 0:
        raise PolicyViolation("OWN-11", "a resource occupancy fee must be above 0")
    if mode == TransferMode.RESOURCE_FEE and fee is None:
        raise PolicyViolation("OWN-11", "mode resource_fee needs the one-time resource occupancy fee")
    if mode == TransferMode.AGREED_RETURN and not has_enterprise:
        raise PolicyViolation("OWN-11", "mode agreed_return needs the enterprise the team invests in")
