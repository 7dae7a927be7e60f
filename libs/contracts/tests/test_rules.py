"""The project's own rules catalogue: complete, bilingual, cited correctly, and documented."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts import rules

ROOT = Path(__file__).resolve().parents[3]
TEAM_REFERENCE = ROOT.parent / "shared" / "spec" / "RULES.md"
CJK = re.compile(r"[\u4e00-\u9fff]")
CITING_SOURCES = ("libs", "services", "gateway", "tests", "bench", "examples")
NOT_RULES = {"OWN-99"}
"""IDs that tests cite on purpose because they are not rules."""


def test_every_rule_has_its_clause_name_and_text_in_chinese_and_english() -> None:
    catalogue = rules.catalogue()
    assert len(catalogue) >= 60
    for rule in catalogue.values():
        assert rules.RULE_ID.fullmatch(rule.id), rule.id
        for field in (rule.source, rule.name, rule.text):
            assert set(field) == set(rules.LANGUAGES), rule.id
            assert all(value.strip() for value in field.values()), rule.id
        assert CJK.search(rule.name["zh"]) and CJK.search(rule.text["zh"]), f"{rule.id}: the Chinese text is not Chinese"
        assert not CJK.search(rule.name["en"] + rule.text["en"]), f"{rule.id}: the English text has Chinese in it"


@pytest.mark.skipif(not TEAM_REFERENCE.exists(), reason="the team's reference catalogue is not beside this checkout")
def test_the_catalogue_has_every_rule_of_the_teams_reference_and_no_other() -> None:
    reference = re.findall(r"^\| ((?:SCO|OWN|PRC|EXE|FIN|ORG|EVA|DOC)-\d+) \|", TEAM_REFERENCE.read_text(), re.M)
    assert list(rules.catalogue()) == reference


def _citations() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for source in CITING_SOURCES:
        for path in (ROOT / source).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for rule_id in rules.RULE_ID.findall(line):
                    cited.setdefault(rule_id, []).append(f"{path.relative_to(ROOT)}:{number}")
    return cited


def test_every_rule_id_cited_in_the_code_and_tests_is_in_the_catalogue() -> None:
    cited = _citations()
    assert {"OWN-1", "PRC-4", "EXE-5", "FIN-6"} <= set(cited)  # the scan does find citations
    unknown = {rule_id: where for rule_id, where in cited.items() if not rules.exists(rule_id) and rule_id not in NOT_RULES}
    assert not unknown, f"rule IDs cited but missing from libs/contracts/rules.toml: {unknown}"


def test_a_refusal_citing_an_unknown_rule_fails_loudly() -> None:
    from servicekit.errors import InvalidState, PolicyViolation

    with pytest.raises(ValueError, match="OWN-99 is not in the rules catalogue"):
        PolicyViolation("OWN-99", "no such rule")
    with pytest.raises(ValueError, match="OWN-99"):
        InvalidState("no such rule", rule="OWN-99")
    assert PolicyViolation("OWN-1", "known").rule == "OWN-1"


def test_the_committed_docs_rules_md_is_generated_from_the_catalogue() -> None:
    committed = rules.DOC_FILE.read_text(encoding="utf-8") if rules.DOC_FILE.exists() else ""
    assert committed == rules.render_markdown(), "docs/RULES.md is out of date: run `make docs` and commit it"
    for rule_id in rules.catalogue():
        assert f"### {rule_id}\n" in committed
