"""The `Achievement` aggregate: one truth of who holds what (OWN-16) and every action on it.

Each action takes the aggregate as it stands plus the command and returns the new aggregate and
the events to emit (`Decided`), or refuses naming the rule. The gates of M (十五) (OWN-12..15)
read the facts as they stand at the moment of the action (OWN-17). Ids and `now` come from the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from contracts.events import (
    AchievementCorrected,
    AchievementSeparatelyManaged,
    ComplianceRecorded,
    EmpowermentGranted,
    EquityTransferCompleted,
    PoolExclusionChanged,
    UsageRightConverted,
    UsageRightExtended,
)
from ownership.domain import empowerment as emp_rules
from ownership.domain import pool as pool_rules
from ownership.domain import transformation as tx_rules
from ownership.domain.empowerment import HUNDRED, EmpowermentType
from ownership.domain.gates import Action, SecurityFacts, check_gates
from ownership.domain.rights import (
    ZERO,
    Disposal,
    Holding,
    Licence,
    Rights,
    RightsStatus,
    current_ownership,
    shares,
    status,
)
from servicekit.errors import InvalidInput, InvalidState, PolicyViolation

CORRECTABLE = ("security", "ethics_review_required", "ip_rights", "completers", "department", "field")  # OWN-17


@dataclass(frozen=True)
class Event:
    """An event the aggregate decided; the service writes it to the outbox."""

    type: str
    subject: str
    payload: BaseModel


@dataclass(frozen=True)
class Achievement:
    """An achievement with its facts (M (十五) flags, IP rights, completers) and its rights record."""

    id: str
    unit_id: str
    version: int
    ip_rights: tuple[dict[str, Any], ...]
    completers: tuple[dict[str, Any], ...]
    department: str | None
    field: str | None
    security: dict[str, bool]
    ethics_review_required: bool
    record_kinds: frozenset[str] = frozenset()
    transformed_at: datetime | None = None
    separately_managed: bool = False
    separate_decision: dict[str, Any] | None = None
    separately_managed_at: datetime | None = None
    pool_excluded: bool = False
    pool_exclusion_reason: str | None = None
    holdings: tuple[Holding, ...] = ()
    rights: Rights = dataclass_field(default_factory=Rights)

    # --- what it is ------------------------------------------------------------------------

    @property
    def transformed(self) -> bool:
        """Transformed once a transfer, licence or investment concluded (OWN-10)."""
        return self.transformed_at is not None

    @property
    def first_granted_on(self) -> date | None:
        """The earliest grant of its IP rights: the pool counts three years from it (OWN-10)."""
        days = [date.fromisoformat(str(right["granted_on"])) for right in self.ip_rights]
        return min(days, default=None)

    def in_pool(self, today: date) -> bool:
        """OWN-10 with OWN-12: old enough, not transformed, not excluded, not a national-interest one."""
        return pool_rules.is_pool_member(
            first_granted_on=self.first_granted_on,
            transformed=self.transformed,
            national_interest=self.security["national_interest"],
            excluded=self.pool_excluded,
            today=today,
        )

    def status(self, today: date) -> RightsStatus:
        """OWN-16: held, partly_disposed or disposed."""
        return status(self.holdings, self.rights, today)

    def shares(self) -> tuple[Decimal, Decimal]:
        """(unit share, team share) as they stand (OWN-1, OWN-11)."""
        return shares(self.holdings, self.rights)

    def facts(self) -> SecurityFacts:
        """The facts the gates of M (十五) read, as they stand now (OWN-17)."""
        return SecurityFacts(
            national_interest=self.security["national_interest"],
            classified=self.security["classified"],
            key_core_technology=self.security["key_core_technology"],
            ethics_review_required=self.ethics_review_required,
            record_kinds=self.record_kinds,
        )

    def holding(self, empowerment_id: str) -> Holding:
        """One of its empowerments (the caller loaded it by id, so it is there)."""
        return next(h for h in self.holdings if h.empowerment_id == empowerment_id)

    def _bumped(self, **changes: Any) -> Achievement:
        return replace(self, version=self.version + 1, **changes)

    def _with_holding(self, new: Holding) -> tuple[Holding, ...]:
        return tuple(new if h.empowerment_id == new.empowerment_id else h for h in self.holdings)

    def _check_not_disposed(self, today: date, rule: str, what: str) -> None:
        if self.status(today) == RightsStatus.DISPOSED:
            raise InvalidState(f"the unit no longer holds this achievement; it cannot {what}", rule=rule)

    # --- corrections and records (OWN-17) --------------------------------------------------

    def correct(self, *, changes: dict[str, Any], reason: str | None) -> Decided:
        """OWN-17: the unit corrects flags, IP rights, completers, department or field with a reason."""
        if reason is None or not reason.strip():
            raise PolicyViolation("OWN-17", "a correction needs a reason")
        unknown = set(changes) - set(CORRECTABLE)
        if unknown:
            raise InvalidInput(f"these fields cannot be corrected: {', '.join(sorted(unknown))}")
        current = self._correctable()
        proposed = {**current, **changes}
        if "security" in changes:  # flags not named keep their value
            proposed["security"] = {**current["security"], **changes["security"]}
        changed = [name for name in CORRECTABLE if name in changes and proposed[name] != current[name]]
        if not changed:
            return Decided(self, [])
        new = self._bumped(
            security=dict(proposed["security"]),
            ethics_review_required=proposed["ethics_review_required"],
            ip_rights=tuple(proposed["ip_rights"]),
            completers=tuple(proposed["completers"]),
            department=proposed["department"],
            field=proposed["field"],
        )
        facts = new._correctable()
        event = AchievementCorrected(
            achievement_id=self.id, unit_id=self.unit_id, reason=reason.strip(), changed=changed,
            security=facts["security"], ethics_review_required=facts["ethics_review_required"],
            ip_rights=facts["ip_rights"], completers=facts["completers"],
            department=facts["department"], field=facts["field"], version=new.version,
        )
        return Decided(new, [Event("ownership.achievement.corrected", self.id, event)])

    def _correctable(self) -> dict[str, Any]:
        return {
            "security": dict(self.security),
            "ethics_review_required": self.ethics_review_required,
            "ip_rights": list(self.ip_rights),
            "completers": list(self.completers),
            "department": self.department,
            "field": self.field,
        }

    def record_compliance(self, *, record_id: str, kind: str, reference: str, recorded_on: date) -> Decided:
        """OWN-13/14/15: a compliance record the gates will read from now on; recorded as an event (OWN-17)."""
        new = self._bumped(record_kinds=self.record_kinds | {kind})
        event = ComplianceRecorded(
            record_id=record_id, achievement_id=self.id, unit_id=self.unit_id, kind=kind,
            reference=reference, recorded_on=recorded_on.isoformat(),
        )
        return Decided(new, [Event("ownership.compliance.recorded", self.id, event)])

    def exclude_from_pool(self, *, reason: str | None) -> Decided:
        """OWN-10: out of the pool only with a recorded reason; the exclusion is an event (OWN-17)."""
        pool_rules.check_exclusion_reason(reason)  # OWN-10
        assert reason is not None
        new = self._bumped(pool_excluded=True, pool_exclusion_reason=reason.strip())
        event = PoolExclusionChanged(achievement_id=self.id, unit_id=self.unit_id, excluded=True, reason=reason.strip())
        return Decided(new, [Event("ownership.pool.exclusion_changed", self.id, event)])

    def restore_to_pool(self) -> Decided:
        """OWN-10: undo an exclusion (an event, OWN-17); nothing happens when it was not excluded."""
        if not self.pool_excluded:
            return Decided(self, [])
        new = self._bumped(pool_excluded=False, pool_exclusion_reason=None)
        event = PoolExclusionChanged(achievement_id=self.id, unit_id=self.unit_id, excluded=False)
        return Decided(new, [Event("ownership.pool.exclusion_changed", self.id, event)])

    def separately_manage(self, *, decision: dict[str, Any] | None, now: datetime) -> Decided:
        """OWN-7 on the unit's own decision (OWN-8), never for a national-interest achievement (OWN-12)."""
        check_gates(self.facts(), Action.SEPARATE_MANAGEMENT)  # OWN-12
        _check_decision("OWN-7", decision)
        tx_rules.check_not_separately_managed(self.separately_managed)  # OWN-7
        new = self._bumped(separately_managed=True, separate_decision=decision, separately_managed_at=now)
        event = AchievementSeparatelyManaged(achievement_id=self.id, unit_id=self.unit_id, decision=decision)
        return Decided(new, [Event("ownership.achievement.separately_managed", self.id, event)])

    # --- empowerment (OWN-1..6) ------------------------------------------------------------

    def grant_empowerment(
        self,
        *,
        empowerment_id: str,
        type: str,
        team_share: Decimal | None,
        unit_share: Decimal | None,
        start_on: date | None,
        end_on: date | None,
        overseas: bool,
        decision: dict[str, Any] | None,
        patent_change_due_on: date,
        today: date,
    ) -> Decided:
        """Grant the team ownership (co-owners, OWN-1) or a long-term usage right (OWN-2) on a decision (OWN-5)."""
        check_gates(self.facts(), Action.EMPOWERMENT, overseas=overseas)  # OWN-12..15
        _check_decision("OWN-5", decision)  # OWN-5
        if type == EmpowermentType.OWNERSHIP:
            emp_rules.check_shares(team_share, unit_share)  # OWN-1
            if end_on is not None:
                raise InvalidInput("an ownership empowerment has no end_on")
        else:
            emp_rules.check_usage_right_term(start_on, end_on)  # OWN-2
            if team_share is not None or unit_share is not None:
                raise InvalidInput("a usage right has no shares; convert it to ownership for that (OWN-4)")
        self._check_not_disposed(today, "OWN-16", "be empowered")
        if type == EmpowermentType.OWNERSHIP and current_ownership(self.holdings) is not None:
            raise InvalidState("the team is already a co-owner; shares change only by equity transfer (OWN-11)", rule="OWN-16")
        holding = Holding(empowerment_id, type, team_share, unit_share, start_on, end_on)
        event = EmpowermentGranted(
            empowerment_id=empowerment_id, achievement_id=self.id, unit_id=self.unit_id, type=type,
            team_share=team_share, unit_share=unit_share, start_on=_iso(start_on), end_on=_iso(end_on),
            patent_change_due_on=patent_change_due_on.isoformat(),
        )
        new = self._bumped(holdings=(*self.holdings, holding))
        return Decided(new, [Event("ownership.empowerment.granted", empowerment_id, event)])

    def extend_usage_right(
        self, *, empowerment_id: str, new_end_on: date, decision: dict[str, Any] | None, today: date
    ) -> Decided:
        """OWN-3: a usage right is extended, before or after its end, to a later end, on a decision (OWN-5);
        never after a conversion, a transfer of the achievement or the unit's whole share passing."""
        holding = self.holding(empowerment_id)
        if holding.converted:
            raise InvalidState("the usage right was converted to ownership; there is no term to extend", rule="OWN-3")
        if holding.type != EmpowermentType.USAGE_RIGHT or holding.end_on is None:
            raise InvalidState("only a usage right can be extended", rule="OWN-3")
        self._check_not_disposed(today, "OWN-3", "extend a usage right")
        if new_end_on <= holding.end_on:
            raise PolicyViolation("OWN-3", f"the new end must be later than the current end {holding.end_on}")
        _check_decision("OWN-5", decision)  # OWN-5
        new = self._bumped(holdings=self._with_holding(replace(holding, end_on=new_end_on)))
        event = UsageRightExtended(
            empowerment_id=empowerment_id, achievement_id=self.id, unit_id=self.unit_id, end_on=new_end_on.isoformat()
        )
        return Decided(new, [Event("ownership.usage_right.extended", empowerment_id, event)])

    def convert_usage_right(
        self,
        *,
        empowerment_id: str,
        team_share: Decimal | None,
        unit_share: Decimal | None,
        unit_consent: bool,
        team_consent: bool,
        overseas: bool,
        today: date,
    ) -> Decided:
        """OWN-4: during its term, with both consents, a usage right becomes co-ownership (OWN-1)."""
        holding = self.holding(empowerment_id)
        emp_rules.check_conversion(
            holding.type, holding.end_on, today, unit_consent=unit_consent, team_consent=team_consent
        )  # OWN-4
        emp_rules.check_shares(team_share, unit_share)  # OWN-1
        check_gates(self.facts(), Action.EMPOWERMENT, overseas=overseas)  # OWN-12..15
        self._check_not_disposed(today, "OWN-16", "convert a usage right")
        if current_ownership(self.holdings) is not None:
            raise InvalidState("the team is already a co-owner; shares change only by equity transfer (OWN-11)", rule="OWN-16")
        converted = replace(
            holding, type=EmpowermentType.OWNERSHIP, team_share=team_share, unit_share=unit_share,
            end_on=None, converted=True,
        )
        event = UsageRightConverted(
            empowerment_id=empowerment_id, achievement_id=self.id, unit_id=self.unit_id,
            team_share=team_share, unit_share=unit_share,
        )
        new = self._bumped(holdings=self._with_holding(converted))
        return Decided(new, [Event("ownership.usage_right.converted", empowerment_id, event)])

    def transfer_equity(
        self,
        *,
        transfer_id: str,
        mode: str,
        fee: Decimal | None,
        enterprise: dict[str, Any] | None,
        decision: dict[str, Any] | None,
    ) -> Decided:
        """OWN-11: the unit's retained share passes to the team (100/0); the unit then holds nothing (OWN-16)."""
        ownership = current_ownership(self.holdings)
        if self.rights.transfers:
            raise InvalidState("the achievement was transferred; the unit holds no share", rule="OWN-16")
        tx_rules.check_equity_transfer(
            has_ownership_empowerment=ownership is not None,
            separately_managed=self.separately_managed,
            unit_share=ownership.unit_share if ownership else None,
            mode=mode,
            fee=fee,
            has_enterprise=enterprise is not None,
        )  # OWN-11
        assert ownership is not None and ownership.unit_share is not None
        check_gates(self.facts(), Action.EQUITY_TRANSFER)  # OWN-14, OWN-15
        _check_decision("OWN-11", decision)
        # OWN-8: the unit's decision is all it takes; no supervising department approval exists.
        passed = replace(ownership, team_share=HUNDRED, unit_share=ZERO)
        event = EquityTransferCompleted(
            equity_transfer_id=transfer_id, achievement_id=self.id, unit_id=self.unit_id, mode=mode, fee=fee,
            enterprise=enterprise, empowerment_id=ownership.empowerment_id, transferred_share=ownership.unit_share,
        )
        new = self._bumped(holdings=self._with_holding(passed))
        return Decided(new, [Event("ownership.equity_transfer.completed", transfer_id, event)])

    # --- what pricing's deals and finance's investments did (OWN-16, PRC-11, FIN-2) -----------

    def conclude_deal(
        self,
        *,
        transaction_id: str,
        kind: str,
        counterparty: dict[str, Any],
        price: Decimal,
        licence: dict[str, Any] | None,
        pay_later: bool,
        concluded_at: datetime,
        concluded_on: date,
    ) -> Achievement:
        """A concluded deal's effect (OWN-9, OWN-10, OWN-16): the licence enters in force, a transfer disposes,
        an investment is recorded; the achievement is transformed and leaves the pool. Applied once."""
        if self.rights.recorded(transaction_id):
            return self
        opened = next((t for t in self.rights.open_transactions if t.transaction_id == transaction_id), None)
        rights = replace(
            self.rights,
            open_transactions=tuple(t for t in self.rights.open_transactions if t.transaction_id != transaction_id),
        )
        if kind == "license":
            terms = licence or {}
            start_on = _day(terms.get("start_on")) or (opened.opened_on if opened else None) or concluded_on
            entry = Licence(
                transaction_id, counterparty, terms.get("scope") or "ordinary", start_on,
                _day(terms.get("end_on")), pay_later, price,
            )
            rights = replace(rights, licences=(*rights.licences, entry))
        else:
            disposal = Disposal(transaction_id, counterparty, price, concluded_at.isoformat())
            if kind == "transfer":
                rights = replace(rights, transfers=(*rights.transfers, disposal))
            else:
                rights = replace(rights, investments=(*rights.investments, disposal))
        return self._bumped(rights=rights, transformed_at=self.transformed_at or concluded_at)

    def record_horizontal_investment(
        self, *, investment_id: str, enterprise: dict[str, Any], value: Decimal, at: datetime
    ) -> Achievement:
        """FIN-2: put in as the technology stake of a horizontal-fund investment, it counts as transformed."""
        if self.rights.recorded(investment_id):
            return self
        stake = Disposal(investment_id, enterprise, value, at.isoformat(), source="horizontal_investment")
        rights = replace(self.rights, investments=(*self.rights.investments, stake))
        return self._bumped(rights=rights, transformed_at=self.transformed_at or at)


@dataclass(frozen=True)
class Decided:
    """What an action decided: the aggregate as it now stands and the events to emit."""

    achievement: Achievement
    events: list[Event]


def _check_decision(rule: str, decision: dict[str, Any] | None) -> None:
    decision = decision or {}
    emp_rules.check_decision(rule, decision.get("body"), decision.get("date"), decision.get("reference"))


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
