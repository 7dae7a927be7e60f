"""`make demo`: a realistic Liaoning dataset loaded through the public API of a running system.

Idempotent: every POST carries a stable `Idempotency-Key` (`kezhuan-demo:<item>`) under a stable
token subject, so a second run gets the first run's answers back and creates nothing; the one PUT
(an exemption panel) is sent only when the case has no panel yet.

History is made with the test clock (dev/test only): the first run sets "now" 20 days back, registers
the units and achievements and opens the deals whose notices, listings and auctions must have ended,
then returns to real time, so the system itself moves them on (notice_clear, notice_objected,
listing_expired, concluded by auction, auction_failed). Everything live (a running notice, listing
and auction, the exemption cases, the funds) is created at real time.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from kezhuan.demo_years import make_past_years
from servicekit.auth import mint_token
from servicekit.settings import DEV_JWT_SECRET

KEY_PREFIX = "kezhuan-demo:"
HISTORY_DAYS = 20
"""How far back the first run starts: past the 15-day notice and listing periods."""

UNITS: dict[str, dict[str, Any]] = {
    "dut": {"name": "大连理工大学", "type": "university"},
    "neu": {"name": "东北大学", "type": "university"},
    "lnu": {"name": "辽宁大学", "type": "university"},
    "sia": {"name": "中国科学院沈阳自动化研究所", "type": "research_institute", "central_in_liaoning": True},
    "cmu1": {"name": "中国医科大学附属第一医院", "type": "medical_institution"},
}

# (key, unit, title, kind, IP right type, number, granted_on): the old, untransformed ones form the pool.
ACHIEVEMENTS = [
    ("dut-catalyst", "dut", "一种高效加氢脱硫催化剂的制备方法", "patent", "invention_patent", "ZL201910123456.7", "2019-06-18"),
    ("dut-weld", "dut", "船舶分段焊接机器人视觉引导系统", "software", "software_copyright", "2021SR0456789", "2021-03-02"),
    ("dut-membrane", "dut", "海水淡化用复合反渗透膜", "patent", "invention_patent", "ZL202310778812.3", "2024-05-20"),
    ("dut-sensor", "dut", "大型结构健康监测光纤传感器", "patent", "utility_model", "ZL202420334455.1", "2024-11-08"),
    ("dut-coating", "dut", "耐海洋腐蚀的石墨烯防护涂层", "patent", "invention_patent", "ZL202210667788.0", "2023-09-12"),
    ("neu-steel", "neu", "高强度汽车用钢连续退火工艺", "patent", "invention_patent", "ZL201810987654.3", "2020-09-10"),
    ("neu-mining", "neu", "智能矿山无人驾驶运输调度软件", "software", "software_copyright", "2023SR0987123", "2023-12-01"),
    ("neu-magnesium", "neu", "镁合金半连续铸造电磁搅拌装置", "patent", "invention_patent", "ZL202311223344.5", "2024-08-15"),
    ("neu-slag", "neu", "钢渣余热回收与资源化利用技术", "patent", "invention_patent", "ZL202010556677.8", "2022-04-22"),
    ("lnu-medicine", "lnu", "北五味子有效成分提取纯化工艺", "patent", "invention_patent", "ZL201711002233.6", "2019-01-09"),
    ("lnu-corpus", "lnu", "东北方言语音语料库标注技术", "know_how", "other", "LNU-KH-2024-03", "2024-03-30"),
    ("sia-robot", "sia", "水下自主机器人集群协同控制方法", "patent", "invention_patent", "ZL202011445566.2", "2022-02-14"),
    ("sia-arm", "sia", "七自由度协作机械臂力控关节", "patent", "invention_patent", "ZL202210998877.4", "2024-01-19"),
    ("sia-plc", "sia", "工业控制器安全可信启动软件", "software", "software_copyright", "2024SR0112233", "2024-06-06"),
    ("sia-inspect", "sia", "输电线路巡检机器人越障机构", "patent", "utility_model", "ZL201820556677.9", "2019-05-27"),
    ("cmu-stent", "cmu1", "可降解镁合金冠脉支架表面处理方法", "patent", "invention_patent", "ZL202110334455.6", "2023-07-03"),
    ("cmu-ai", "cmu1", "胃癌病理切片人工智能辅助诊断系统", "software", "software_copyright", "2020SR0778899", "2020-12-11"),
    ("cmu-kit", "cmu1", "幽门螺杆菌快速检测试剂盒", "patent", "invention_patent", "ZL202320112233.0", "2024-10-25"),
]

APPRAISAL = {"performed": True, "value": "1200000.00", "report_reference": "辽华评报字〔2025〕第018号"}
PRIVATE_BUYER = {
    "name": "大连融科储能技术发展有限公司", "credit_code": "91210200MA0Y1234X1",
    "kind": "enterprise", "ownership": "other", "overseas": False,
}
STATE_BUYER = {
    "name": "辽宁省产业技术研究院有限公司", "credit_code": "91210000MA0Y5678X2",
    "kind": "enterprise", "ownership": "wholly_state_owned", "overseas": False,
}
SME_LICENSEE = {
    "name": "沈阳中科博微科技股份有限公司", "credit_code": "91210100MA0Y0003X5",
    "kind": "enterprise", "ownership": "other", "overseas": False, "size": "small",
}
BIDDERS = [
    {"name": "沈阳新松机器人自动化股份有限公司", "credit_code": "91210100MA0Y0001X3", "kind": "enterprise", "ownership": "other", "overseas": False},
    {"name": "鞍钢集团北京研究院有限公司", "credit_code": "91210300MA0Y0002X4", "kind": "enterprise", "ownership": "other", "overseas": False},
]


class DemoError(Exception):
    """The system refused a demo step; the message says which and why."""


@dataclass
class Summary:
    """What the demo created (or found), by kind, for printing and for tests."""

    units: dict[str, str] = field(default_factory=dict)
    achievements: dict[str, str] = field(default_factory=dict)
    transactions: dict[str, str] = field(default_factory=dict)
    notices: dict[str, str] = field(default_factory=dict)
    listings: dict[str, str] = field(default_factory=dict)
    auctions: dict[str, str] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    fund: str | None = None
    projects: dict[str, str] = field(default_factory=dict)
    horizontal_investment: str | None = None
    history_made: bool = False


class Api:
    """The gateway with stable demo identities: one subject per role and unit, so keys replay."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.secret = secret

    def token(self, role: str, unit_id: str | None = None, sub: str | None = None) -> dict[str, str]:
        subject = sub or f"demo-{role}" + (f"-{unit_id}" if unit_id else "")
        token = mint_token(self.secret, sub=subject, name=subject, roles=[role], unit_id=unit_id, ttl=timedelta(hours=1))
        return {"Authorization": f"Bearer {token}"}

    def post(self, key: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(path, json=body, headers={**headers, "Idempotency-Key": KEY_PREFIX + key})
        return self._ok(response, f"POST {path} ({key})")

    def put(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        return self._ok(self.http.put(path, json=body, headers=headers), f"PUT {path}")

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
        return self._ok(self.http.get(path, params=params, headers=headers or {}), f"GET {path}")

    def clock(self, instant: datetime | None) -> bool:
        """Set (or, with None, reset) the test clock; False when the system has none (production)."""
        if instant is None:
            response = self.http.delete("/api/v1/test-clock")
        else:
            response = self.http.put("/api/v1/test-clock", json={"now": instant.isoformat()})
        if response.status_code == 404:
            return False
        self._ok(response, "test clock")
        return True

    @staticmethod
    def _ok(response: httpx.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = f"{problem.get('detail')}" + (f" [rule {problem['rule']}]" if problem.get("rule") else "")
            except ValueError:
                detail = response.text[:300]
            raise DemoError(f"{what} answered {response.status_code}: {detail}")
        return response.json()


def _decision(reference: str, on: str = "2025-03-18") -> dict[str, str]:
    return {"body": "校长办公会", "date": on, "reference": reference}


class Loader:
    """The demo, step by step; each step is safe to repeat."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.s = Summary()
        self.admin = api.token("platform_admin")
        self.in_history = False
        self.anchor = datetime.now(UTC)

    def unit_admin(self, unit: str) -> dict[str, str]:
        return self.api.token("unit_admin", self.s.units[unit])

    def run(self) -> Summary:
        for key, body in UNITS.items():
            unit = self.api.post(f"unit:{key}", "/api/v1/units", body, self.admin)
            self.s.units[key] = unit["id"]
            if key == "dut":
                self.anchor = datetime.fromisoformat(unit["created_at"])
        fresh = not self.api.get("/api/v1/achievements", self.unit_admin("dut"), unit_id=self.s.units["dut"])["items"]
        self.s.history_made = fresh and self.api.clock(self.anchor - timedelta(days=HISTORY_DAYS))
        self.in_history = True
        try:
            make_past_years(self, move_clock=self.s.history_made, appraisal=APPRAISAL, buyer=PRIVATE_BUYER, decision=_decision)
            if self.s.history_made:
                self.api.clock(self.anchor - timedelta(days=HISTORY_DAYS))
            self.achievements()
            self.ownership()
            self.past_deals()
        finally:
            self.in_history = False
            if self.s.history_made:
                self.api.clock(None)
        self.settle_past_deals()
        self.live_deals()
        self.challenges()
        self.exemption_cases()
        self.finance()
        return self.s

    def achievements(self) -> None:
        for key, unit, title, kind, right, number, granted_on in ACHIEVEMENTS:
            body = {
                "unit_id": self.s.units[unit],
                "title": title,
                "kind": kind,
                "ip_rights": [{"type": right, "number": number, "granted_on": granted_on}],
                "completers": [
                    {"person_id": f"{unit}-p01", "name": "李明"},
                    {"person_id": f"{unit}-p02", "name": "王芳"},
                ],
                "security": {"national_interest": False, "classified": False, "key_core_technology": False},
                "ethics_review_required": False,
            }
            self.s.achievements[key] = self.api.post(f"achievement:{key}", "/api/v1/achievements", body, self.unit_admin(unit))["id"]

    def ownership(self) -> None:
        dut, sia, neu = self.unit_admin("dut"), self.unit_admin("sia"), self.unit_admin("neu")
        owned = self.api.post(
            "empowerment:dut-membrane",
            f"/api/v1/achievements/{self.s.achievements['dut-membrane']}/empowerments",
            {"type": "ownership", "team_share": "70.00", "unit_share": "30.00", "decision": _decision("大工校发〔2025〕12号")},
            dut,
        )
        self.api.post(
            "patent-change:dut-membrane",
            f"/api/v1/empowerments/{owned['id']}/patent-change",
            {"registered_on": "2025-04-30", "reference": "国知局变更通知书 2025-0430-017"},
            dut,
        )
        self.api.post(
            "empowerment:sia-arm",
            f"/api/v1/achievements/{self.s.achievements['sia-arm']}/empowerments",
            {"type": "usage_right", "start_on": "2025-03-01", "end_on": "2037-02-28",
             "decision": _decision("沈自所发〔2025〕5号", "2025-02-20")},
            sia,
        )
        self.api.post(
            "empowerment:neu-magnesium",
            f"/api/v1/achievements/{self.s.achievements['neu-magnesium']}/empowerments",
            {"type": "usage_right", "start_on": "2025-05-01", "end_on": "2036-04-30",
             "decision": _decision("东大校发〔2025〕31号", "2025-04-22")},
            neu,
        )
        self.api.post("pool-publication:dut", f"/api/v1/units/{self.s.units['dut']}/pool/publications", {}, dut)
        park = self.api.post("institution:dut-park", "/api/v1/institutions",
                             {"kind": "science_park", "name": "大连理工大学国家大学科技园",
                              "unit_ids": [self.s.units["dut"], self.s.units["lnu"]]}, self.admin)
        self.api.post("evaluation:dut-park:2025", f"/api/v1/institutions/{park['id']}/evaluations",
                      {"year": 2025, "rating": "excellent", "evaluated_by": "辽宁省科学技术厅"}, self.admin)
        self.api.post("technology-manager:dut", "/api/v1/technology-managers",
                      {"person_id": "dut-tm01", "name": "刘洋", "certificate": {"number": "LNJSJL-2025-0107", "level": "高级"},
                       "unit_id": self.s.units["dut"]}, dut)

    def _transaction(self, key: str, unit: str, achievement: str, **body: Any) -> str:
        payload = {"achievement_id": self.s.achievements[achievement], "kind": "transfer", "method": "agreement", **body}
        tx = self.api.post(f"transaction:{key}", "/api/v1/transactions", payload, self.unit_admin(unit))
        self.s.transactions[key] = tx["id"]
        return tx["id"]

    def _agreement(self, key: str, unit: str, achievement: str, price: str) -> str:
        return self._transaction(key, unit, achievement, counterparty=PRIVATE_BUYER, proposed_price=price, appraisal=APPRAISAL)

    def _notice(self, key: str, unit: str) -> str:
        notice = self.api.post(f"notice:{key}", f"/api/v1/transactions/{self.s.transactions[key]}/notice", {}, self.unit_admin(unit))
        self.s.notices[key] = notice["id"]
        return notice["id"]

    def past_deals(self) -> None:
        """Deals whose notice, listing or auction ends before today."""
        self._agreement("notice-clear", "dut", "dut-coating", "1350000.00")
        self._notice("notice-clear", "dut")
        self._agreement("concluded-after-notice", "neu", "neu-slag", "2600000.00")
        self._notice("concluded-after-notice", "neu")
        self._agreement("notice-objected", "cmu1", "cmu-stent", "880000.00")
        notice = self._notice("notice-objected", "cmu1")
        self.api.post(
            "objection:notice-objected",
            f"/api/v1/notices/{notice}/objections",
            {"reason": "评估基准日早于最近一轮临床试验结果，价格明显偏低",
             "contact": {"name": "一位知情的医务人员", "email": "objection@example.cn"}},
            self.api.token("enterprise", sub="demo-objector"),
        )
        tx = self._transaction("listing-expired", "lnu", "lnu-corpus", method="listing", kind="license", appraisal=APPRAISAL)
        listing = self.api.post("listing:listing-expired", f"/api/v1/transactions/{tx}/listing",
                                {"exchange": "辽宁技术交易市场", "price": "260000.00"}, self.unit_admin("lnu"))
        self.s.listings["listing-expired"] = listing["id"]
        self._auction("auction-concluded", "sia", "sia-robot", days=5, bids=["3100000.00", "3350000.00"])
        self._auction("auction-failed", "neu", "neu-mining", days=5, bids=["400000.00"])

    def _auction(self, key: str, unit: str, achievement: str, *, days: int, bids: list[str]) -> None:
        tx = self._transaction(key, unit, achievement, method="auction", kind="license", appraisal=APPRAISAL)
        closes_at = self._now() + timedelta(days=days)
        auction = self.api.post(f"auction:{key}", f"/api/v1/transactions/{tx}/auction",
                                {"reserve_price": "3000000.00" if unit == "sia" else "500000.00",
                                 "closes_at": closes_at.replace(hour=7, minute=0, second=0, microsecond=0).isoformat()},
                                self.unit_admin(unit))
        self.s.auctions[key] = auction["id"]
        for n, amount in enumerate(bids):
            self.api.post(f"bid:{key}:{n}", f"/api/v1/auctions/{auction['id']}/bids",
                          {"party": BIDDERS[n % len(BIDDERS)], "amount": amount},
                          self.api.token("enterprise", sub=f"demo-bidder-{n}"))

    def _now(self) -> datetime:
        """The demo's now: the first run's start (stable, so repeated bodies match), HISTORY_DAYS back for the past deals."""
        return self.anchor - timedelta(days=HISTORY_DAYS) if self.in_history else self.anchor

    def settle_past_deals(self) -> None:
        """Wait until the system has ended the past notices, listings and auctions, then conclude one."""
        expected = {
            "notice-clear": "notice_clear",
            "concluded-after-notice": ("notice_clear", "concluded"),
            "notice-objected": "notice_objected",
            "listing-expired": "listing_expired",
            "auction-concluded": "concluded",
            "auction-failed": "auction_failed",
        }
        deadline = time.monotonic() + 30
        for key, states in expected.items():
            wanted = states if isinstance(states, tuple) else (states,)
            unit = {"notice-clear": "dut", "concluded-after-notice": "neu", "notice-objected": "cmu1",
                    "listing-expired": "lnu", "auction-concluded": "sia", "auction-failed": "neu"}[key]
            while True:
                state = self.api.get(f"/api/v1/transactions/{self.s.transactions[key]}", self.unit_admin(unit))["state"]
                if state in wanted or not self.s.history_made and state not in ("in_notice", "listed", "auction_open"):
                    break
                if time.monotonic() > deadline:
                    if not self.s.history_made:
                        break  # without a test clock these stay in progress until their end dates
                    raise DemoError(f"transaction {key} is still {state}; expected {', '.join(wanted)}")
                time.sleep(0.3)
        tx = self.s.transactions["concluded-after-notice"]
        if self.api.get(f"/api/v1/transactions/{tx}", self.unit_admin("neu"))["state"] == "notice_clear":
            self.api.post("conclusion:concluded-after-notice", f"/api/v1/transactions/{tx}/conclusion",
                          {"contract_reference": "东大技转〔2025〕第021号", "signed_on": date.today().isoformat()},
                          self.unit_admin("neu"))

    def live_deals(self) -> None:
        """A draft, a running notice, a running listing, a delisted deal, a running auction, a withdrawal."""
        self._agreement("draft", "dut", "dut-sensor", "450000.00")
        self._transaction("in-notice", "cmu1", "cmu-kit", counterparty=STATE_BUYER, proposed_price="620000.00",
                          appraisal={"performed": False})
        self._notice("in-notice", "cmu1")
        tx = self._transaction("listed", "dut", "dut-membrane", method="listing", kind="license", appraisal=APPRAISAL)
        listing = self.api.post("listing:listed", f"/api/v1/transactions/{tx}/listing",
                                {"exchange": "大连技术产权交易中心", "price": "1800000.00"}, self.unit_admin("dut"))
        self.s.listings["listed"] = listing["id"]
        tx = self._transaction("delisted", "neu", "neu-magnesium", method="listing", appraisal=APPRAISAL)
        listing = self.api.post("listing:delisted", f"/api/v1/transactions/{tx}/listing",
                                {"exchange": "沈阳联合产权交易所", "price": "950000.00"}, self.unit_admin("neu"))
        self.s.listings["delisted"] = listing["id"]
        self.api.post("delisting:delisted", f"/api/v1/listings/{listing['id']}/delistings",
                      {"party": BIDDERS[1]}, self.api.token("enterprise", sub="demo-buyer"))
        self._auction("auction-open", "sia", "sia-inspect", days=7, bids=["3050000.00"])
        tx = self._agreement("withdrawn", "lnu", "lnu-medicine", "180000.00")
        self.api.post("withdrawal:withdrawn", f"/api/v1/transactions/{tx}/withdrawal", {}, self.unit_admin("lnu"))
        # Use first, pay later (OWN-9): a licence at an agreement price to a small enterprise, its fee in the notice.
        self._transaction("pay-later", "sia", "sia-plc", kind="license", counterparty=SME_LICENSEE,
                          proposed_price="300000.00", appraisal=APPRAISAL, licence={"scope": "ordinary"},
                          payment={"mode": "pay_later", "due_on": "2027-06-30", "conditions": "首年销售收入达到500万元后支付"})
        self._notice("pay-later", "sia")

    def challenges(self) -> None:
        """Two-way challenge lists (PRC-10): an enterprise seeking technology, a unit's achievement seeking a market."""
        closes_on = (self.anchor + timedelta(days=60)).date().isoformat()
        self.api.post("challenge:hydrogen", "/api/v1/challenges", {
            "direction": "technology_wanted", "title": "寻求氢能储运用高压储氢瓶碳纤维缠绕技术",
            "description": "面向70MPa车载储氢瓶，需要碳纤维湿法缠绕工艺与在线检测技术，可联合中试。",
            "publisher": {"name": "鞍钢集团北京研究院有限公司", "credit_code": "91210300MA0Y0002X4"},
            "budget": "5000000.00", "field": "新能源", "region": "鞍山市", "closes_on": closes_on,
        }, self.api.token("enterprise", sub="demo-challenge-publisher"))
        self.api.post("challenge:catalyst", "/api/v1/challenges", {
            "direction": "market_wanted", "title": "高效加氢脱硫催化剂寻求产业化合作",
            "description": "已完成千吨级中试，寻求炼化企业开展工业示范与成果转化。",
            "publisher": {"name": "大连理工大学", "credit_code": "12210000400000001X"},
            "achievement_id": self.s.achievements["dut-catalyst"], "field": "石油化工", "region": "大连市", "closes_on": closes_on,
        }, self.unit_admin("dut"))

    def exemption_cases(self) -> None:
        """One case at each stage of the due-diligence procedure, at 大连理工大学."""
        stages = ["investigating", "awaiting_confirmation", "closed", "under_review", "review_rejected", "escalated", "determined"]
        for n, stage in enumerate(stages):
            self._case(n, stage)

    def _case(self, n: int, stage: str) -> None:
        unit_id = self.s.units["dut"]
        admin = self.api.token("unit_admin", unit_id, sub="demo-dut-legal")
        subject_id = f"dut-leader-{n:02d}"
        subject = self.api.token("researcher", unit_id, sub=subject_id)
        body = {
            "unit_id": unit_id,
            "subject": {"person_id": subject_id, "name": ["赵强", "钱伟", "孙丽", "周杰", "吴敏", "郑涛", "冯雪"][n],
                        "role": "leader", "leader_rank": "deputy"},
            "matter": {"summary": "成果作价转让后企业估值大幅上升，被质疑定价偏低", "loss_amount": "150000.00"},
            "claimed_clauses": ["G5.3"],
        }
        case = self.api.post(f"case:{stage}", "/api/v1/exemption-cases", body, admin)
        self.s.cases[stage] = case["id"]
        url = f"/api/v1/exemption-cases/{case['id']}"
        if not self.api.get(url, admin).get("panel"):
            self.api.put(f"{url}/panel", {"mode": "working_group",
                                          "members": [{"person_id": "dut-audit-01", "name": "纪委 刘洋"}]}, admin)
        self.api.post(f"case:{stage}:evidence", f"{url}/evidence",
                      {"kind": "document", "title": "校长办公会会议纪要", "reference": "大工办纪〔2024〕7号"}, admin)
        self.api.post(f"case:{stage}:statement", f"{url}/statements", {"heard_on": "2025-06-03", "summary": "当事人陈述决策经过"}, admin)
        if stage == "investigating":
            return
        meeting = {"body": "党委常委会", "held_on": "2025-06-10", "attendees": ["demo-dut-legal", "dut-party-secretary", "dut-president"]}
        conclusion = "meets" if stage in ("awaiting_confirmation", "closed") else "does_not_meet"
        self.api.post(f"case:{stage}:decision", f"{url}/decision",
                      {"meeting": meeting, "conclusion": conclusion, "clauses": ["G5.3"], "reasoning": "已履行公示和评估程序"}, admin)
        if stage == "awaiting_confirmation":
            return
        if stage == "closed":
            self.api.post(f"case:{stage}:confirmation", f"{url}/confirmation", {}, subject)
            return
        self.api.post(f"case:{stage}:review", f"{url}/review-requests", {"grounds": "评估报告已说明市场风险，损失非决策失误所致"}, subject)
        if stage == "under_review":
            return
        self.api.post(f"case:{stage}:outcome", f"{url}/review-outcome", {"accepted": False, "explanation": "原认定证据充分，维持原结论"}, admin)
        if stage == "review_rejected":
            return
        self.api.post(f"case:{stage}:escalation", f"{url}/escalation",
                      {"application_reference": "辽科申〔2025〕3号", "subject_objection": "当事人仍有异议，申请上级认定"}, admin)
        if stage == "escalated":
            return
        self.api.post(f"case:{stage}:determination", f"{url}/department-determination",
                      {"departments": ["science", "education"], "conclusion": "basically_meets", "reasoning": "省科技厅、教育厅联合认定",
                       "improvements": ["完善成果定价内控流程"], "shortcomings_direct_cause": False},
                      self.api.token("provincial_office", sub="demo-provincial-office"))

    def finance(self) -> None:
        fund = self.api.post("fund", "/api/v1/funds", {"name": "辽宁省科技成果转化引导基金", "contribution": "50000000.00"}, self.admin)
        self.s.fund = fund["id"]
        self.api.post("fund:contribution", f"/api/v1/funds/{fund['id']}/contributions",
                      {"amount": "20000000.00", "source": "省级财政科技专项"}, self.admin)
        company = self.api.token("platform_company", sub="demo-platform-company")
        for key, achievement, enterprise, tranches in (
            ("robot", "sia-arm", {"name": "沈阳智能协作机器人有限公司", "credit_code": "91210100MA0Y0004X6"},
             [("concept_verification", "800000.00"), ("pilot", "2500000.00")]),
            ("stent", "cmu-ai", {"name": "辽宁智慧病理科技有限公司", "credit_code": "91210100MA0Y0005X7"},
             [("concept_verification", "600000.00")]),
        ):
            project = self.api.post(f"project:{key}", "/api/v1/invest-first-projects",
                                    {"fund_id": fund["id"], "enterprise": enterprise, "achievement_id": self.s.achievements[achievement]},
                                    company)
            self.s.projects[key] = project["id"]
            for stage, amount in tranches:
                self.api.post(f"project:{key}:tranche:{stage}", f"/api/v1/invest-first-projects/{project['id']}/tranches",
                              {"stage": stage, "amount": amount}, company)
        self.api.post("project:robot:conversion", f"/api/v1/invest-first-projects/{self.s.projects['robot']}/conversion",
                      {"trigger": "market_financing", "round_reference": "A轮融资协议〔2025〕", "post_money_valuation": "66000000.00"},
                      company)
        investment = self.api.post(
            "horizontal:neu",
            "/api/v1/horizontal-investments",
            {"unit_id": self.s.units["neu"], "achievement_id": self.s.achievements["neu-steel"],
             "project_reference": "东大横〔2023〕0457号", "surplus_amount": "400000.00",
             "cash_amount": "400000.00", "technology_valuation": "1600000.00",
             "enterprise": {"name": "沈阳东大先进材料有限公司", "credit_code": "91210100MA0Y0006X8"},
             "researcher_share_pct": "90.00", "unit_consent": {"by": "东北大学校长办公会", "on": "2025-05-12"}},
            self.unit_admin("neu"),
        )
        self.s.horizontal_investment = investment["id"]


def load_demo(base_url: str) -> Summary:
    """Load (or find) the demo dataset through the gateway at `base_url`."""
    if os.environ.get("KEZHUAN_ENV", "dev") == "production":
        raise DemoError("the demo mints its own tokens and is refused when KEZHUAN_ENV=production")
    api = Api(base_url, os.environ.get("KEZHUAN_JWT_SECRET", DEV_JWT_SECRET))
    try:
        return Loader(api).run()
    except httpx.HTTPError as exc:
        raise DemoError(f"cannot reach the gateway at {base_url} ({exc}); start the system first (make run)") from exc
    finally:
        api.http.close()


def print_summary(summary: Summary, base_url: str) -> None:
    """What to open next."""
    units = summary.units
    print(f"Demo data loaded: {len(units)} units, {len(summary.achievements)} achievements, "
          f"{len(summary.transactions)} deals, {len(summary.cases)} exemption cases, 1 fund.")
    print(f"  API docs                 {base_url}/docs")
    print(f"  pay-later pool (public)  {base_url}/api/v1/units/{units['dut']}/pool")
    print(f"  active notices (public)  {base_url}/api/v1/notices?active=true")
    print(f"  active listings (public) {base_url}/api/v1/listings?active=true")
    print(f"  an objected deal         {base_url}/api/v1/transactions/{summary.transactions['notice-objected']}/record")
    print(f"  separate ledger          {base_url}/api/v1/units/{units['neu']}/separate-ledger")
    print(f"  fund                     {base_url}/api/v1/funds/{summary.fund}")
    print("  tokens: kezhuan token mint --role unit_admin --unit " + units["dut"] + "   (大连理工大学)")
    print("          kezhuan token mint --role platform_admin")


def main() -> int:
    """`python -m kezhuan.demo [gateway URL]`."""
    base_url = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{os.environ.get('KEZHUAN_GATEWAY_PORT', '8000')}"
    try:
        summary = load_demo(base_url)
    except DemoError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    print_summary(summary, base_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
