"""Problems from the real services (policy refusals, 401/403/404/409/412/422) follow Accept-Language."""
from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from contracts import rules
from servicekit.i18n import translations
from servicekit.testing import InProcessSystem

CJK = re.compile(r"[\u4e00-\u9fff]")
DECISION = {"body": "校长办公会", "date": "2030-01-10", "reference": "大工办〔2030〕3号"}
Send = Callable[[dict[str, str]], Awaitable[httpx.Response]]


async def _in_both_languages(send: Send, status: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same request without Accept-Language and with English: only title and detail differ."""
    default, english = await send({}), await send({"Accept-Language": "en"})
    assert default.status_code == english.status_code == status, (default.text, english.text)
    zh, en = default.json(), english.json()
    assert {k: zh.get(k) for k in ("type", "status", "rule")} == {k: en.get(k) for k in ("type", "status", "rule")}
    assert [e["loc"] for e in zh.get("errors", [])] == [e["loc"] for e in en.get("errors", [])]
    assert CJK.search(zh["title"]) and CJK.search(zh["detail"]), zh
    assert not CJK.search(en["title"] + en["detail"]), en
    for preference in ("en;q=0.1, zh;q=0.9", "ja", "zh-TW"):
        assert (await send({"Accept-Language": preference})).json() == zh, preference
    assert (await send({"Accept-Language": "de, en-AU;q=0.4"})).json() == en
    return zh, en


def _chinese_of(english: dict[str, Any]) -> str:
    """What the Chinese detail must be: the catalogue's translation, else the rule's own text."""
    return translations("zh").get(english["detail"]) or rules.get(english["rule"]).text["zh"]


async def test_service_problems_are_chinese_by_default_and_english_on_request(system: InProcessSystem) -> None:
    ownership = system.clients["ownership"]
    unit = await system.register_unit()
    admin = system.auth("unit_admin", unit["id"])
    achievement = {
        "unit_id": unit["id"], "title": f"语言探针-{uuid.uuid4().hex[:6]}", "kind": "patent", "ip_rights": [],
        "completers": [{"person_id": "p-1", "name": "张三"}],
        "security": {"national_interest": False, "classified": False, "key_core_technology": False},
        "ethics_review_required": False,
    }
    created = await ownership.post("/api/v1/achievements", json=achievement, headers=admin)
    assert created.status_code == 201, created.text
    empowerments = f"/api/v1/achievements/{created.json()['id']}/empowerments"

    async def empower(body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        return await ownership.post(empowerments, json={"type": "ownership", "decision": DECISION, **body}, headers={**admin, **headers})

    # A policy refusal whose rule's input is missing (422), and one whose detail is dynamic.
    for body, rule in (({}, "OWN-1"), ({"team_share": "60.00", "unit_share": "39.99"}, "OWN-1"),
                       ({"team_share": "70.00", "unit_share": "30.00", "decision": None}, "OWN-5")):
        zh, en = await _in_both_languages(lambda headers, body=body: empower(body, headers), 422)
        assert zh["rule"] == en["rule"] == rule
        assert zh["title"] == f"{rule} {rules.get(rule).name['zh']}" and en["title"] == f"{rule} {rules.get(rule).name['en']}"
        assert zh["detail"] == _chinese_of(en)

    # Validation: the same field locations, messages in the asked language.
    zh, en = await _in_both_languages(lambda headers: empower({"team_share": 70}, headers), 422)
    assert zh["title"] == "输入无效" and en["title"] == "Invalid input" and "rule" not in zh

    # 401 without a valid token, 403 for a role that may not write, 404 for another unit's resource.
    zh, en = await _in_both_languages(
        lambda headers: ownership.post(empowerments, json={}, headers={"Authorization": "Bearer nope", **headers}), 401
    )
    assert zh["title"] == "未认证" and en["title"] == "Unauthorized"
    researcher = system.auth("researcher", unit["id"])
    valid = {"type": "ownership", "team_share": "70.00", "unit_share": "30.00", "decision": DECISION}
    await _in_both_languages(lambda headers: ownership.post(empowerments, json=valid, headers={**researcher, **headers}), 403)
    stranger = system.auth("unit_admin", (await system.register_unit())["id"])
    await _in_both_languages(lambda headers: ownership.get(f"/api/v1/units/{unit['id']}/separate-ledger", headers={**stranger, **headers}), 404)

    # 412: If-Match names another version.
    zh, en = await _in_both_languages(
        lambda headers: ownership.patch(
            f"/api/v1/units/{unit['id']}/policy", json={"notice_days": 10}, headers={**admin, "If-Match": '"7"', **headers}
        ),
        412,
    )
    assert zh["detail"].startswith("当前版本为 ") and en["detail"].startswith("version is ")

    # 409 with the rule that explains it: converting what is not a usage right.
    granted = await empower({"team_share": "70.00", "unit_share": "30.00"}, {})
    assert granted.status_code == 201, granted.text
    conversion = f"/api/v1/empowerments/{granted.json()['id']}/conversion"
    consents = {"unit_consent": {"by": "校长办公会", "on": "2031-01-01"}, "team_consent": {"by": "张三团队", "on": "2031-01-01"}}
    zh, en = await _in_both_languages(
        lambda headers: ownership.post(
            conversion, json={"team_share": "80.00", "unit_share": "20.00", **consents}, headers={**admin, **headers}
        ),
        409,
    )
    assert zh["rule"] == "OWN-4" and zh["detail"] == _chinese_of(en)
