"""`make demo`, earlier years: deals concluded two and one year back, so the evaluation (M 十三) has a history.

Run by the demo's first pass only, with the test clock, before the recent history: for each past year
the units register achievements, empower one, and conclude agreement deals through a clear notice.
Every POST carries a stable Idempotency-Key like the rest of the demo.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol


class Loader(Protocol):
    """What this step needs of the demo's loader (kezhuan.demo.Loader)."""

    api: Any
    s: Any
    anchor: datetime

    def unit_admin(self, unit: str) -> dict[str, str]: ...

# (key, unit, title, IP right number, granted_on, years back, price)
PAST_DEALS = [
    ("dut-battery", "dut", "全钒液流电池电堆密封结构", "ZL201810112233.4", "2018-08-08", 2, "2100000.00"),
    ("neu-rolling", "neu", "热轧带钢板形智能控制系统", "ZL201910445566.1", "2019-11-20", 2, "1650000.00"),
    ("dut-dredger", "dut", "绞吸式挖泥船智能疏浚控制方法", "ZL202010778899.2", "2020-07-15", 1, "980000.00"),
    ("sia-vision", "sia", "工业机器人三维视觉定位方法", "ZL201911223344.0", "2020-03-03", 1, "1420000.00"),
    ("cmu-scaffold", "cmu1", "骨组织工程多孔支架制备工艺", "ZL202011556677.3", "2021-01-18", 1, "760000.00"),
]
NOTICE_DAYS = 15


def _achievement(loader: Loader, key: str, unit: str, title: str, number: str, granted_on: str) -> str:
    body: dict[str, Any] = {
        "unit_id": loader.s.units[unit],
        "title": title,
        "kind": "patent",
        "ip_rights": [{"type": "invention_patent", "number": number, "granted_on": granted_on}],
        "completers": [{"person_id": f"{unit}-p01", "name": "李明"}, {"person_id": f"{unit}-p03", "name": "赵磊"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
        "ethics_review_required": False,
    }
    achievement = loader.api.post(f"achievement:{key}", "/api/v1/achievements", body, loader.unit_admin(unit))
    loader.s.achievements[key] = achievement["id"]
    return str(achievement["id"])


def make_past_years(
    loader: Loader,
    *,
    move_clock: bool,
    appraisal: dict[str, Any],
    buyer: dict[str, Any],
    decision: Callable[[str, str], dict[str, str]],
) -> None:
    """For two and one year back: achievements registered, one empowered, agreement deals concluded.

    A repeated run (`move_clock` false) sends the same requests, which the Idempotency-Keys answer as before.
    """
    api = loader.api
    for years_back in (2, 1):
        start = loader.anchor.replace(month=4, day=1, hour=2, minute=0, second=0, microsecond=0)
        start = start.replace(year=loader.anchor.year - years_back)
        if move_clock:
            api.clock(start)
        deals = [deal for deal in PAST_DEALS if deal[5] == years_back]
        for key, unit, title, number, granted_on, _, price in deals:
            achievement = _achievement(loader, key, unit, title, number, granted_on)
            admin = loader.unit_admin(unit)
            if key == deals[0][0]:
                api.post(f"empowerment:{key}", f"/api/v1/achievements/{achievement}/empowerments",
                         {"type": "ownership", "team_share": "70.00", "unit_share": "30.00",
                          "decision": decision(f"{unit}-赋权〔{start.year}〕1号", start.date().isoformat())}, admin)
            tx = api.post(f"transaction:{key}", "/api/v1/transactions",
                          {"achievement_id": achievement, "kind": "transfer", "method": "agreement",
                           "counterparty": buyer, "proposed_price": price, "appraisal": appraisal}, admin)
            loader.s.transactions[key] = tx["id"]
            loader.s.notices[key] = api.post(f"notice:{key}", f"/api/v1/transactions/{tx['id']}/notice", {}, admin)["id"]
        concluded_at: datetime = start + timedelta(days=NOTICE_DAYS, hours=1)
        if move_clock:
            api.clock(concluded_at)
        for key, unit, *_ in deals:
            api.post(f"conclusion:{key}", f"/api/v1/transactions/{loader.s.transactions[key]}/conclusion",
                     {"contract_reference": f"技转合同〔{concluded_at.year}〕{key}", "signed_on": concluded_at.date().isoformat()},
                     loader.unit_admin(unit))
