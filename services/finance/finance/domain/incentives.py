"""Rewards to the people behind a transformation (FIN-6, FIN-7). Pure."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from servicekit.errors import InvalidInput, PolicyViolation

EQUITY_FORMS = ("shares", "contribution")  # FIN-6: 股份 / 出资比例
FORMS = ("cash", *EQUITY_FORMS)
ROLES = ("leader", "manager", "researcher")
LEADER_RANKS = ("principal", "deputy")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100.00")


@dataclass(frozen=True)
class CashRewardFlags:
    """FIN-7: where a cash reward counts in the unit's performance pay."""

    counts_in_performance_pay_total: bool = True
    in_next_year_base: bool = False
    in_social_insurance_base: bool = False


def check_recipient(
    *, role: str, leader_rank: str | None, form: str, amount: Decimal | None, share_pct: Decimal | None
) -> CashRewardFlags | None:
    """FIN-6: a principal leader gets no shares or contribution; returns the FIN-7 flags for cash."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if form not in FORMS:
        raise InvalidInput(f"form must be one of {', '.join(FORMS)}")
    if role == "leader" and leader_rank is None:
        raise PolicyViolation("FIN-6", "a leader's leader_rank (principal or deputy) decides which rewards are allowed")
    if leader_rank is not None and (role != "leader" or leader_rank not in LEADER_RANKS):
        raise InvalidInput("leader_rank is principal or deputy, and only for role leader")
    if leader_rank == "principal" and form in EQUITY_FORMS:
        raise PolicyViolation("FIN-6", "a principal leader may receive a cash reward but no share or contribution reward")
    if form == "cash":
        if amount is None or amount <= ZERO or share_pct is not None:
            raise InvalidInput("a cash reward needs an amount above 0.00 and no share_pct")
        return CashRewardFlags()
    if share_pct is None or not ZERO < share_pct <= HUNDRED or amount is not None:
        raise InvalidInput(f"a {form} reward needs a share_pct above 0.00 and at most 100.00, and no amount")
    return None


def recipient_basis(*, person_id: str, completer_ids: frozenset[str] | None, contribution_note: str | None) -> str:
    """FIN-6, M (十二): a main completer of the achievement (`completer`) or an important contributor to
    its transformation with the contribution recorded (`contribution`); anyone else is refused.

    `completer_ids` is None when no achievement is named or its completers are not known.
    """
    if completer_ids is not None and person_id in completer_ids:
        return "completer"
    if (contribution_note or "").strip():
        return "contribution"
    if completer_ids is None:
        raise PolicyViolation(
            "FIN-6", f"{person_id}: without an achievement whose completers are known, a recipient needs a contribution_note"
        )
    raise PolicyViolation("FIN-6", f"{person_id} is not a completer of the achievement and has no contribution_note")


def completer_ids_of(completers: list[dict[str, object]] | None) -> frozenset[str] | None:
    """The person ids of an achievement's completers (None: not known)."""
    if completers is None:
        return None
    return frozenset(str(c["person_id"]) for c in completers if isinstance(c, dict) and c.get("person_id"))
