"""Problem title/detail in Chinese by default, English with Accept-Language: en (API.md §2)."""
from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from contracts import rules
from servicekit.errors import InvalidState, NotFound, PolicyViolation, PreconditionFailed
from servicekit.i18n import negotiate, translations
from servicekit.i18n_catalogue import describe, extract, gaps
from servicekit.middleware import BodyLimitMiddleware
from servicekit.problems import install_problem_handlers, problem_detail, problem_title

CJK = re.compile(r"[\u4e00-\u9fff]")
UNCHANGING = ("type", "status", "rule")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh"),
        ("", "zh"),
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hant-TW", "zh"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN-gb", "en"),
        ("fr", "zh"),
        ("de-DE, ja;q=0.8", "zh"),
        ("en;q=0.1, zh;q=0.9", "zh"),
        ("zh;q=0.1, en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr, en;q=0.5", "en"),
        ("en;q=0", "zh"),
        ("en;q=0, *;q=0.1", "zh"),
        ("*", "zh"),
        ("en, zh", "en"),
        ("zh, en", "zh"),
        ("en;q=abc", "zh"),
        ("en;q=2", "zh"),
        ("en ; q = 0.7 , zh ; q = 0.3", "en"),
        (";;,,", "zh"),
    ],
)
def test_accept_language_negotiation(header: str | None, language: str) -> None:
    assert negotiate(header) == language


def test_every_message_in_the_code_has_its_chinese_translation() -> None:
    template = extract()
    assert len(template) > 100  # extraction does find the error constructors' messages
    found = list(gaps(template))
    assert not found, describe(found)


def test_every_rule_has_a_title_and_a_fallback_detail_in_both_languages() -> None:
    untranslatable = "an f-string detail the catalogue cannot know"
    for rule_id, rule in rules.catalogue().items():
        for language in rules.LANGUAGES:
            assert problem_title(422, language, rule=rule_id) == f"{rule_id} {rule.name[language]}"
        assert problem_detail(422, untranslatable, "zh", rule=rule_id) == rule.text["zh"]
        assert problem_detail(422, untranslatable, "en", rule=rule_id) == untranslatable


def test_a_detail_without_translation_or_rule_keeps_its_english_after_the_kind_of_error() -> None:
    assert problem_detail(422, "role must be one of a, b", "zh") == "输入无效：role must be one of a, b"
    assert problem_detail(422, "role must be one of a, b", "en") == "role must be one of a, b"


def test_a_template_detail_is_translated_with_its_values() -> None:
    error = PreconditionFailed("version is {current}, If-Match said {expected}", current=3, expected=2)
    assert error.detail == "version is 3, If-Match said 2"
    assert problem_detail(412, error.message, "zh", params=error.params) == "当前版本为 3，If-Match 给出的是 2"
    assert problem_detail(412, error.message, "en", params=error.params) == error.detail


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    count: int


TRANSLATED = "a usage right must run at least 10 years"
assert TRANSLATED in translations("zh"), "the probe message below must be catalogued"


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/policy")
    async def policy() -> None:
        raise PolicyViolation("OWN-2", TRANSLATED)

    @app.post("/policy-fstring")
    async def policy_fstring() -> None:
        total = "99.99"
        raise PolicyViolation("OWN-1", f"team_share + unit_share must be 100.00, not {total}")

    @app.post("/state")
    async def state() -> None:
        raise InvalidState("only a usage right can be converted to ownership", rule="OWN-4")

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound()

    @app.post("/things")
    async def things(thing: Thing) -> Thing:
        return thing

    return BodyLimitMiddleware(app, limit=100)  # type: ignore[return-value]


async def _ask(method: str, path: str, language: str | None, **kwargs: Any) -> httpx.Response:
    headers = {**kwargs.pop("headers", {}), **({"Accept-Language": language} if language is not None else {})}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as client:
        return await client.request(method, path, headers=headers, **kwargs)


REQUESTS = [
    ("POST", "/policy", {}),
    ("POST", "/policy-fstring", {}),
    ("POST", "/state", {}),
    ("GET", "/missing", {}),
    ("GET", "/nowhere", {}),
    ("PUT", "/things", {}),
    ("POST", "/things", {"json": {"name": 7, "colour": "red"}}),
    ("POST", "/things", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
    ("POST", "/things", {"content": b"x" * 101}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), REQUESTS, ids=[f"{m} {p} {i}" for i, (m, p, _) in enumerate(REQUESTS)])
async def test_problems_are_chinese_by_default_english_on_request_and_only_title_and_detail_change(
    method: str, path: str, kwargs: dict[str, Any]
) -> None:
    default = await _ask(method, path, None, **dict(kwargs))
    english = await _ask(method, path, "en-GB", **dict(kwargs))
    assert default.status_code == english.status_code >= 400
    zh, en = default.json(), english.json()
    assert (default.headers["content-language"], english.headers["content-language"]) == ("zh-CN", "en")
    assert CJK.search(zh["title"]) and CJK.search(zh["detail"]), zh
    assert not CJK.search(en["title"] + en["detail"]), en
    assert {k: zh.get(k) for k in UNCHANGING} == {k: en.get(k) for k in UNCHANGING}
    assert [e["loc"] for e in zh.get("errors", [])] == [e["loc"] for e in en.get("errors", [])]
    assert [e["type"] for e in zh.get("errors", [])] == [e["type"] for e in en.get("errors", [])]
    for preference in ("zh-CN", "en;q=0.1, zh;q=0.9", "fr-FR", "*"):
        assert (await _ask(method, path, preference, **dict(kwargs))).json() == zh, preference
    assert (await _ask(method, path, "fr, en;q=0.5", **dict(kwargs))).json() == en


async def test_a_catalogued_policy_detail_is_its_translation_and_an_f_string_one_falls_back_to_the_rule() -> None:
    catalogued = (await _ask("POST", "/policy", None)).json()
    assert catalogued["rule"] == "OWN-2" and catalogued["status"] == 422
    assert catalogued["detail"] == translations("zh")[TRANSLATED]
    assert catalogued["title"] == f"OWN-2 {rules.get('OWN-2').name['zh']}"
    assert (await _ask("POST", "/policy", "en")).json()["detail"] == TRANSLATED
    dynamic = (await _ask("POST", "/policy-fstring", None)).json()
    assert dynamic["detail"] == rules.get("OWN-1").text["zh"]
    assert (await _ask("POST", "/policy-fstring", "en")).json()["detail"] == "team_share + unit_share must be 100.00, not 99.99"
    state = await _ask("POST", "/state", "zh")
    assert state.status_code == 409 and state.json()["rule"] == "OWN-4"
    assert state.json()["detail"] == "只有长期使用权才能变更为所有权"


async def test_validation_errors_keep_their_locations_and_english_messages_in_english() -> None:
    body = {"name": 7, "colour": "red"}
    zh = (await _ask("POST", "/things", None, json=body)).json()
    en = (await _ask("POST", "/things", "en", json=body)).json()
    by_loc = {tuple(e["loc"]): e["msg"] for e in zh["errors"]}
    assert by_loc == {
        ("body", "name"): "应为字符串",
        ("body", "count"): "缺少必填字段",
        ("body", "colour"): "不允许提供此字段",
    }
    assert {tuple(e["loc"]): e["msg"] for e in en["errors"]} == {
        ("body", "name"): "Input should be a valid string",
        ("body", "count"): "Field required",
        ("body", "colour"): "Extra inputs are not permitted",
    }
    assert zh["detail"].startswith("body.name：应为字符串；") and en["detail"].startswith("body.name: Input should be a valid string; ")
