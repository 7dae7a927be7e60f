"""The rights record's parts (OWN-16): what the unit has granted, licensed, transferred or invested.

Plain frozen values, kept on the achievement (`Achievement.rights`), with the status rule that
reads them. `disposed` means the unit holds nothing it can still dispose of (M (一), (二), (六)).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ownership.domain.empowerment import HUNDRED, EmpowermentType

ZERO = Decimal("0.00")
LICENCE_SCOPES = ("exclusive", "sole", "ordinary")  # 独占 / 排他 / 普通


class RightsStatus(StrEnum):
    """API.md §3: held · partly_disposed · disposed (OWN-16)."""

    HELD = "held"
    PARTLY_DISPOSED = "partly_disposed"
    DISPOSED = "disposed"


@dataclass(frozen=True)
class Holding:
    """An empowerment as the rights record sees it: the team's ownership share or usage right (OWN-1, OWN-2)."""

    empowerment_id: str
    type: str
    team_share: Decimal | None
    unit_share: Decimal | None
    start_on: date | None
    end_on: date | None
    converted: bool = False

    def in_force(self, today: date) -> bool:
        """Ownership always; a usage right until its end day (a later start is already granted)."""
        return self.type == EmpowermentType.OWNERSHIP or self.end_on is None or today <= self.end_on


@dataclass(frozen=True)
class Licence:
    """A licence a concluded deal put in force (scope, term, pay-later: OWN-9, OWN-16)."""

    transaction_id: str
    licensee: dict[str, Any]
    scope: str
    start_on: date | None
    end_on: date | None
    pay_later: bool
    price: Decimal

    def in_force(self, today: date) -> bool:
        """From its start (or at once) until its end day; without an end it never ends (API.md §3)."""
        return (self.start_on is None or self.start_on <= today) and (self.end_on is None or today <= self.end_on)

    def ended(self, today: date) -> bool:
        """True once its end day has passed."""
        return self.end_on is not None and today > self.end_on


@dataclass(frozen=True)
class Disposal:
    """A concluded transfer or investment of the achievement (or a horizontal-fund technology stake)."""

    transaction_id: str
    counterparty: dict[str, Any]
    price: Decimal
    concluded_at: str
    source: str = "deal"


@dataclass(frozen=True)
class OpenTransaction:
    """A pricing transaction opened for the achievement and not yet concluded, withdrawn or failed."""

    transaction_id: str
    kind: str
    scope: str | None = None
    start_on: date | None = None
    end_on: date | None = None
    opened_on: date | None = None


@dataclass(frozen=True)
class Rights:
    """Everything the unit has given away of one achievement, plus what pricing has open for it."""

    licences: tuple[Licence, ...] = ()
    transfers: tuple[Disposal, ...] = ()
    investments: tuple[Disposal, ...] = ()
    open_transactions: tuple[OpenTransaction, ...] = ()

    def recorded(self, transaction_id: str) -> bool:
        """True when a deal (or horizontal investment) of this id is already in the record (events may come twice)."""
        return any(licence.transaction_id == transaction_id for licence in self.licences) or any(
            disposal.transaction_id == transaction_id for disposal in (*self.transfers, *self.investments)
        )


def current_ownership(holdings: tuple[Holding, ...]) -> Holding | None:
    """The ownership empowerment in force, if any (at most one: OWN-16)."""
    return next((h for h in holdings if h.type == EmpowermentType.OWNERSHIP), None)


def shares(holdings: tuple[Holding, ...], rights: Rights) -> tuple[Decimal, Decimal]:
    """(unit share, team share): 100/0 until an ownership empowerment; nothing left after a transfer."""
    if rights.transfers:
        return ZERO, ZERO
    ownership = current_ownership(holdings)
    if ownership is None or ownership.unit_share is None or ownership.team_share is None:
        return HUNDRED, ZERO
    return ownership.unit_share, ownership.team_share


def status(holdings: tuple[Holding, ...], rights: Rights, today: date) -> RightsStatus:
    """OWN-16: disposed after a transfer or once the whole share passed to the team (OWN-11);
    partly disposed while co-owned, a usage right or licence is in force, or the achievement is invested."""
    unit_share, team_share = shares(holdings, rights)
    if rights.transfers or unit_share == ZERO:
        return RightsStatus.DISPOSED
    usage_in_force = any(h.type == EmpowermentType.USAGE_RIGHT and h.in_force(today) for h in holdings)
    licence_in_force = any(licence.in_force(today) for licence in rights.licences)
    if team_share > ZERO or usage_in_force or licence_in_force or rights.investments:
        return RightsStatus.PARTLY_DISPOSED
    return RightsStatus.HELD


# --- stored form (a JSON column on the achievement) -------------------------------------------


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def rights_from_json(data: dict[str, Any] | None, open_transactions: tuple[OpenTransaction, ...] = ()) -> Rights:
    """Read the stored rights record, with the transactions pricing has open for the achievement."""
    data = data or {}
    return Rights(
        licences=tuple(
            Licence(
                transaction_id=item["transaction_id"],
                licensee=item["licensee"],
                scope=item["scope"],
                start_on=_day(item.get("start_on")),
                end_on=_day(item.get("end_on")),
                pay_later=item["pay_later"],
                price=Decimal(item["price"]),
            )
            for item in data.get("licences", [])
        ),
        transfers=tuple(_disposal(item) for item in data.get("transfers", [])),
        investments=tuple(_disposal(item) for item in data.get("investments", [])),
        open_transactions=open_transactions,
    )


def _disposal(item: dict[str, Any]) -> Disposal:
    return Disposal(
        transaction_id=item["transaction_id"],
        counterparty=item["counterparty"],
        price=Decimal(item["price"]),
        concluded_at=item["concluded_at"],
        source=item.get("source", "deal"),
    )


def rights_to_json(rights: Rights) -> dict[str, Any]:
    """The rights record as stored (open transactions live in their own table, as pricing reports them)."""
    return {
        "licences": [
            {
                "transaction_id": licence.transaction_id,
                "licensee": licence.licensee,
                "scope": licence.scope,
                "start_on": _iso(licence.start_on),
                "end_on": _iso(licence.end_on),
                "pay_later": licence.pay_later,
                "price": str(licence.price),
            }
            for licence in rights.licences
        ],
        "transfers": [_disposal_json(d) for d in rights.transfers],
        "investments": [_disposal_json(d) for d in rights.investments],
    }


def _disposal_json(disposal: Disposal) -> dict[str, Any]:
    return {
        "transaction_id": disposal.transaction_id,
        "counterparty": disposal.counterparty,
        "price": str(disposal.price),
        "concluded_at": disposal.concluded_at,
        "source": disposal.source,
    }
