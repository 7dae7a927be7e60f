"""A known set of events for two units over two years (2025, 2026), published as the services would.

The expected indicators below are worked out by hand from these events (API.md §6b), so the tests
assert every indicator exactly, independently of the code that computes them.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import nats
import orjson

from contracts.envelope import CloudEvent, subject_for

CST = timezone(timedelta(hours=8))
PARTY = {"name": "沈阳新松机器人", "credit_code": "91210100MA0000001X", "kind": "enterprise", "ownership": "other",
         "overseas": False, "size": "small"}


def at(day: str) -> datetime:
    """Noon, Asia/Shanghai, of an ISO day."""
    return datetime.fromisoformat(f"{day}T12:00:00").replace(tzinfo=CST)


@dataclass
class Scenario:
    """Ids of one run (fresh every time, so runs never share state) and the events to publish."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    events: list[tuple[str, str, datetime, dict[str, Any]]] = field(default_factory=list)

    def id(self, name: str) -> str:
        return f"{name}-{self.tag}"

    @property
    def unit_a(self) -> str:
        return self.id("unit-a")

    @property
    def unit_b(self) -> str:
        return self.id("unit-b")

    def add(self, event_type: str, subject: str, day: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, subject, at(day), data))


def _achievement(s: Scenario, name: str, unit: str, department: str, granted_on: str | None, completer: str) -> dict[str, Any]:
    return {
        "achievement_id": s.id(name), "unit_id": unit, "title": f"成果{name}", "kind": "patent",
        "department": department, "field": "智能制造",
        "ip_rights": [{"type": "invention_patent", "number": f"ZL-{name}", "granted_on": granted_on}] if granted_on else [],
        "completers": [{"person_id": s.id(completer), "name": "张三"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
    }


def _deal(s: Scenario, transaction: str, achievement: str, unit: str, kind: str, basis: str, price: str,
          pay_later: bool = False, managers: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "transaction_id": s.id(transaction), "unit_id": unit, "achievement_id": s.id(achievement), "kind": kind,
        "price": price, "counterparty": PARTY, "basis": basis, "method": "agreement",
        "licence": {"scope": "ordinary", "start_on": None, "end_on": None} if kind == "license" else None,
        "payment": {"mode": "pay_later" if pay_later else "at_conclusion",
                    "due_on": "2026-03-01" if pay_later else None, "conditions": "投产后付费" if pay_later else None},
        "technology_manager_ids": [s.id(m) for m in managers],
    }


def build() -> Scenario:
    """Unit A: four achievements in two departments, a pay-later licence, an investment; unit B: a delisting."""
    s = Scenario()
    a, b = s.unit_a, s.unit_b
    policy = {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90}
    s.add("ownership.unit.registered", a, "2025-01-02", {"unit_id": a, "name": "大连理工大学", "type": "university", "policy": policy})
    s.add("ownership.unit.registered", b, "2025-01-02", {"unit_id": b, "name": "中国医科大学", "type": "university", "policy": policy})
    s.add("ownership.technology_manager.registered", s.id("m1"), "2025-01-03",
          {"technology_manager_id": s.id("m1"), "person_id": s.id("p-m1"), "name": "王经理", "unit_id": a})
    # 2025, unit A
    s.add("ownership.achievement.registered", s.id("a1"), "2025-03-01", _achievement(s, "a1", a, "机械学院", "2021-06-01", "p-a1"))
    s.add("ownership.achievement.registered", s.id("a2"), "2025-03-01", _achievement(s, "a2", a, "化工学院", "2024-01-10", "p-a2"))
    s.add("ownership.achievement.registered", s.id("a4"), "2025-03-02", _achievement(s, "a4", a, "化工学院", "2020-01-01", "p-a2"))
    s.add("ownership.empowerment.granted", s.id("e1"), "2025-04-01",
          {"empowerment_id": s.id("e1"), "achievement_id": s.id("a1"), "unit_id": a, "type": "ownership",
           "team_share": "70.00", "unit_share": "30.00"})
    s.add("ownership.empowerment.granted", s.id("e2"), "2025-05-01",
          {"empowerment_id": s.id("e2"), "achievement_id": s.id("a2"), "unit_id": a, "type": "usage_right",
           "start_on": "2025-05-01", "end_on": "2035-05-01"})
    s.add("pricing.transaction.opened", s.id("t1"), "2025-06-01",
          {"transaction_id": s.id("t1"), "unit_id": a, "achievement_id": s.id("a1"), "kind": "license",
           "method": "agreement", "technology_manager_ids": [s.id("m1")]})
    notice = {"notice_id": s.id("n1"), "transaction_id": s.id("t1"), "unit_id": a}
    s.add("pricing.notice.published", s.id("n1"), "2025-06-02",
          {**notice, "price": "100000.00", "starts_at": "2025-06-02T12:00:00+08:00", "ends_at": "2025-06-17T12:00:00+08:00"})
    s.add("pricing.notice.objected", s.id("n1"), "2025-06-05", notice)
    s.add("pricing.notice.objected", s.id("n1"), "2025-06-06", notice)
    s.add("pricing.deal.concluded", s.id("t1"), "2025-07-01",
          _deal(s, "t1", "a1", a, "license", "listing_expired", "100000.00", pay_later=True, managers=("m1",)))
    s.add("finance.receivable.opened", s.id("r1"), "2025-07-02",
          {"receivable_id": s.id("r1"), "unit_id": a, "achievement_id": s.id("a1"), "kind": "pay_later", "state": "due",
           "amount": "100000.00", "due_on": "2026-03-01", "conditions": "投产后付费", "transaction_id": s.id("t1")})
    s.add("exemption.conclusion.issued", s.id("c1"), "2025-09-01", {"case_id": s.id("c1"), "unit_id": a, "conclusion": "meets"})
    # 2026, unit A
    s.add("ownership.achievement.registered", s.id("a3"), "2026-01-05", _achievement(s, "a3", a, "机械学院", None, "p-a1"))
    s.add("finance.receivable.paid", s.id("r1"), "2026-02-01",
          {"receivable_id": s.id("r1"), "unit_id": a, "achievement_id": s.id("a1"), "amount": "100000.00",
           "paid_on": "2026-02-01", "income_id": s.id("i1")})
    s.add("finance.income.recorded", s.id("i1"), "2026-02-01",
          {"income_id": s.id("i1"), "unit_id": a, "source": "licence_payment", "amount": "100000.00",
           "achievement_id": s.id("a1"), "retained_by_unit": True})
    s.add("pricing.transaction.opened", s.id("t2"), "2026-03-01",
          {"transaction_id": s.id("t2"), "unit_id": a, "achievement_id": s.id("a2"), "kind": "investment", "method": "agreement"})
    s.add("pricing.notice.published", s.id("n2"), "2026-03-02",
          {"notice_id": s.id("n2"), "transaction_id": s.id("t2"), "unit_id": a, "price": "500000.00",
           "starts_at": "2026-03-02T12:00:00+08:00", "ends_at": "2026-03-17T12:00:00+08:00"})
    s.add("pricing.deal.concluded", s.id("t2"), "2026-04-01", _deal(s, "t2", "a2", a, "investment", "notice_clear", "500000.00"))
    s.add("finance.reward.granted", s.id("w1"), "2026-05-01",
          {"reward_id": s.id("w1"), "unit_id": a, "achievement_id": s.id("a2"), "recipient_count": 2,
           "recipients": [{"person_id": s.id("p-a2"), "role": "researcher", "form": "cash", "amount": "20000.00"},
                          {"person_id": s.id("p-a1"), "role": "researcher", "form": "shares", "share_pct": "5.00"}]})
    s.add("finance.horizontal_investment.recorded", s.id("h1"), "2026-06-01",
          {"investment_id": s.id("h1"), "unit_id": a, "achievement_id": s.id("a3"), "enterprise": PARTY,
           "technology_valuation": "300000.00", "cash_amount": "100000.00", "researcher_share_pct": "90.00",
           "state_equity_value": "30000.00"})
    s.add("ownership.pool.exclusion_changed", s.id("a4"), "2026-08-01",
          {"achievement_id": s.id("a4"), "unit_id": a, "excluded": True, "reason": "拟自行实施"})
    s.add("ownership.achievement.corrected", s.id("a4"), "2026-08-02",
          {"achievement_id": s.id("a4"), "unit_id": a, "reason": "院系调整", "changed": ["department"], "department": "机械学院"})
    # 2026, unit B
    s.add("ownership.achievement.registered", s.id("b1"), "2026-01-10", _achievement(s, "b1", b, "医学院", "2019-01-01", "p-b1"))
    s.add("pricing.transaction.opened", s.id("t3"), "2026-02-01",
          {"transaction_id": s.id("t3"), "unit_id": b, "achievement_id": s.id("b1"), "kind": "transfer", "method": "listing"})
    s.add("pricing.deal.concluded", s.id("t3"), "2026-02-10", _deal(s, "t3", "b1", b, "transfer", "delisted", "250000.00"))
    s.add("finance.income.recorded", s.id("i3"), "2026-02-10",
          {"income_id": s.id("i3"), "unit_id": b, "source": "deal", "amount": "250000.00", "achievement_id": s.id("b1"),
           "transaction_id": s.id("t3"), "retained_by_unit": True})
    s.add("exemption.conclusion.issued", s.id("c2"), "2026-03-10", {"case_id": s.id("c2"), "unit_id": b, "conclusion": "does_not_meet"})
    s.add("exemption.determination.issued", s.id("c2"), "2026-04-10", {"case_id": s.id("c2"), "unit_id": b, "conclusion": "basically_meets"})
    return s


def indicators(**groups: Any) -> dict[str, Any]:
    """Every indicator zero, then the given values (dotted keys for nested ones)."""
    result: dict[str, Any] = {
        "quantity": {"achievements_registered": 0, "empowerments": {"ownership": 0, "usage_right": 0},
                     "transactions_opened": 0, "deals": {"transfer": 0, "license": 0, "investment": 0},
                     "deals_by_basis": {"notice_clear": 0, "listing_expired": 0, "delisted": 0, "auction": 0},
                     "pay_later_licences": 0, "pool_size": 0, "pool_transformed": 0},
        "quality": {"median_days_grant_to_deal": None, "notices_published": 0, "notices_objected": 0,
                    "listings_delisted": 0, "exemption_conclusions": {"meets": 0, "basically_meets": 0, "does_not_meet": 0}},
        "benefit": {"deal_amount": "0.00", "income_received": "0.00",
                    "rewards_paid": {"cash": "0.00", "shares": 0, "contribution": 0},
                    "state_equity_formed": "0.00", "receivables_outstanding": "0.00"},
    }
    for dotted, value in groups.items():
        group, *path = dotted.split("__")
        target = result[group]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return result


# Worked out by hand from build(): days from grant to deal are 2021-06-01 → 2025-07-01 (1491),
# 2024-01-10 → 2026-04-01 (812) and 2019-01-01 → 2026-02-10 (2597).
UNIT_A_2025 = indicators(
    quantity__achievements_registered=3, quantity__empowerments__ownership=1, quantity__empowerments__usage_right=1,
    quantity__transactions_opened=1, quantity__deals__license=1, quantity__deals_by_basis__listing_expired=1,
    quantity__pay_later_licences=1, quantity__pool_size=1, quantity__pool_transformed=1,
    quality__median_days_grant_to_deal=1491, quality__notices_published=1, quality__notices_objected=1,
    quality__exemption_conclusions__meets=1,
    benefit__deal_amount="100000.00", benefit__receivables_outstanding="100000.00",
)
UNIT_A_2026 = indicators(
    quantity__achievements_registered=1, quantity__transactions_opened=1, quantity__deals__investment=1,
    quantity__deals_by_basis__notice_clear=1,
    quality__median_days_grant_to_deal=812, quality__notices_published=1,
    benefit__deal_amount="500000.00", benefit__income_received="100000.00",
    benefit__rewards_paid__cash="20000.00", benefit__rewards_paid__shares=1, benefit__state_equity_formed="530000.00",
)
UNIT_B_2025 = indicators()
UNIT_B_2026 = indicators(
    quantity__achievements_registered=1, quantity__transactions_opened=1, quantity__deals__transfer=1,
    quantity__deals_by_basis__delisted=1, quantity__pool_transformed=1,
    quality__median_days_grant_to_deal=2597, quality__listings_delisted=1,
    quality__exemption_conclusions__basically_meets=1,
    benefit__deal_amount="250000.00", benefit__income_received="250000.00",
)


async def publish(nats_url: str, scenario: Scenario) -> None:
    """Publish every event in order, as CloudEvents with `Nats-Msg-Id` = id, at the scenario's instants."""
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        for event_type, subject, time, data in scenario.events:
            event = CloudEvent(id=uuid.uuid4().hex, source=f"/kezhuan/{event_type.split('.')[0]}", type=event_type,
                               time=time, subject=subject, data=data)
            await js.publish(subject_for(event_type), orjson.dumps(event.model_dump(mode="json", exclude_none=True)),
                             headers={"Nats-Msg-Id": event.id})
    finally:
        await connection.close()
