"""Receivables as one state machine (FIN-9 agreed returns, FIN-10 pay-later fees, M 五 and M 六). Pure.

agreed_return:  contingent ──trigger (listing | equity_transfer)──▶ due ──settle──▶ settled
pay_later:      due ──due_on passed unpaid──▶ overdue;  due | overdue ──pay──▶ paid
                due | overdue ──waive (unit decision + reason)──▶ waived

Every action takes the receivable and today (Asia/Shanghai), refuses with the rule that explains the
refusal, and returns the new receivable with what happened, in order; a pay-later receivable whose
due date has passed is overdue first, so its history never skips that step.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

ZERO = Decimal("0.00")
AGREED_RETURN, PAY_LATER = "agreed_return", "pay_later"
TRIGGER_EVENTS = ("listing", "equity_transfer")  # FIN-9, M (六): 企业上市或股权转让时

# action → (kind it applies to, states it is allowed in, state it leads to, rule explaining a refusal)
TRANSITIONS: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "trigger": (AGREED_RETURN, ("contingent",), "due", "FIN-9"),
    "settle": (AGREED_RETURN, ("due",), "settled", "FIN-9"),
    "mark_overdue": (PAY_LATER, ("due",), "overdue", "FIN-10"),
    "pay": (PAY_LATER, ("due", "overdue"), "paid", "FIN-10"),
    "waive": (PAY_LATER, ("due", "overdue"), "waived", "FIN-10"),
}


@dataclass(frozen=True)
class ReceivableState:
    """What the rules need to know of a receivable."""

    kind: str
    state: str
    amount: Decimal | None = None
    due_on: date | None = None

    def is_past_due(self, today: date) -> bool:
        """FIN-10: a pay-later fee still due after its due date is overdue (the due day itself is not)."""
        return self.kind == PAY_LATER and self.state == "due" and self.due_on is not None and self.due_on < today

    def state_as_of(self, today: date) -> str:
        """The state a read shows now, whether or not the sweeper has recorded the overdue step yet."""
        return "overdue" if self.is_past_due(today) else self.state

    def _move(self, action: str) -> ReceivableState:
        kind, allowed, target, rule = TRANSITIONS[action]
        if self.kind != kind:
            raise InvalidState(f"a {self.kind} receivable cannot {action.replace('_', ' ')}; that is for {kind}", rule=rule)
        if self.state not in allowed:
            raise InvalidState(f"the receivable is {self.state}; {action.replace('_', ' ')} needs {' or '.join(allowed)}", rule=rule)
        return replace(self, state=target)

    def advance(self, today: date) -> tuple[ReceivableState, list[str]]:
        """FIN-10: record the overdue step once the due date has passed unpaid."""
        if not self.is_past_due(today):
            return self, []
        return self._move("mark_overdue"), ["overdue"]

    def trigger(self, *, event: str, amount: Decimal) -> ReceivableState:
        """FIN-9: the enterprise listed or the equity was transferred: the agreed return falls due."""
        if event not in TRIGGER_EVENTS:
            raise InvalidInput(f"event must be one of {', '.join(TRIGGER_EVENTS)}")
        if amount <= ZERO:
            raise InvalidInput("amount must be above 0.00")
        return replace(self._move("trigger"), amount=amount)

    def settle(self, *, amount: Decimal, settled_on: date, today: date) -> ReceivableState:
        """FIN-9: the agreed return was received; its amount becomes income (FIN-1)."""
        moved = self._move("settle")
        if amount <= ZERO:
            raise PolicyViolation("FIN-9", "a settlement needs the amount received, above 0.00")
        if settled_on > today:
            raise PolicyViolation("FIN-9", f"settled_on {settled_on} is in the future")
        return moved

    def pay(self, *, amount: Decimal, paid_on: date, today: date) -> tuple[ReceivableState, list[str]]:
        """FIN-10: the licensee paid the agreed fee; it becomes income (FIN-1, source licence_payment)."""
        current, happened = self.advance(today)
        paid = current._move("pay")
        if amount != self.amount:
            raise PolicyViolation("FIN-10", f"the payment {amount} is not the agreed fee {self.amount}")
        if paid_on > today:
            raise PolicyViolation("FIN-10", f"paid_on {paid_on} is in the future")
        return paid, [*happened, "paid"]

    def waive(self, *, has_decision: bool, reason: str | None, today: date) -> tuple[ReceivableState, list[str]]:
        """FIN-10: the unit waives the fee by its decision, with a reason."""
        current, happened = self.advance(today)
        waived = current._move("waive")
        if not has_decision:
            raise PolicyViolation("FIN-10", "a waiver needs the unit's decision (body, date, reference)")
        if not (reason or "").strip():
            raise PolicyViolation("FIN-10", "a waiver needs a reason")
        return waived, [*happened, "waived"]
