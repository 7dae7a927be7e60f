"""The rules catalogue: every rule ID with its source clause and its Chinese and English text.

The data is `rules.toml` beside this module (reviewed clause by clause against the policy texts);
`python -m contracts.rules` writes `docs/RULES.md` from it (`make docs`).
"""
from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

RULE_ID = re.compile(r"\b(?:SCO|OWN|PRC|EXE|FIN|ORG|EVA|DOC)-\d+\b")
"""How a rule ID looks wherever it is cited (code, tests, problem `rule` fields)."""

CATALOGUE_FILE = Path(__file__).with_name("rules.toml")
DOC_FILE = Path(__file__).resolve().parents[2] / "docs" / "RULES.md"

AREAS = (
    ("SCO", "适用范围", "Scope", ""),
    ("OWN", "所有权与赋权", "Ownership and empowerment", "ownership"),
    ("PRC", "定价与公示", "Pricing and public notice", "pricing"),
    ("EXE", "尽职免责", "Due-diligence exemption", "exemption"),
    ("FIN", "资金流", "Fund flows", "finance"),
    ("ORG", "转化机构与技术经理人", "Institutions and technology managers", "ownership"),
    ("EVA", "转化绩效", "Transformation performance", "evaluation"),
    ("DOC", "文件", "Documents", "every service"),
)
"""The rule families in catalogue order: prefix, Chinese and English heading, owning service."""


@dataclass(frozen=True)
class Rule:
    """One rule: its ID, the clause it comes from, and its name and text in each language."""

    id: str
    source: dict[str, str]
    name: dict[str, str]
    text: dict[str, str]

    def name_in(self, language: Language) -> str:
        """The rule's short name in `language`."""
        return self.name[language]

    def text_in(self, language: Language) -> str:
        """What the rule requires, in `language`."""
        return self.text[language]


@cache
def catalogue() -> dict[str, Rule]:
    """Every rule, by ID, in catalogue order (read once from rules.toml)."""
    with CATALOGUE_FILE.open("rb") as data:
        entries = tomllib.load(data)["rule"]
    rules: dict[str, Rule] = {}
    for entry in entries:
        rule = Rule(id=entry["id"], source=entry["source"], name=entry["name"], text=entry["text"])
        if rule.id in rules:
            raise ValueError(f"rule {rule.id} is in {CATALOGUE_FILE.name} twice")
        rules[rule.id] = rule
    return rules


def get(rule_id: str) -> Rule:
    """The rule with this ID; KeyError names the catalogue when there is none."""
    try:
        return catalogue()[rule_id]
    except KeyError:
        raise KeyError(f"{rule_id} is not in the rules catalogue ({CATALOGUE_FILE})") from None


def exists(rule_id: str) -> bool:
    """Whether `rule_id` is in the catalogue."""
    return rule_id in catalogue()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """docs/RULES.md: every rule, grouped by area, in both languages."""
    rules = catalogue()
    lines = [
        "# 规则目录 · Rules catalogue",
        "",
        "<!-- Generated from libs/contracts/rules.toml by `make docs`; edit that file, not this one. -->",
        "",
        "平台执行的每一条规则及其出处。出处：**M** = 辽科发〔2025〕6号《辽宁省全面深化职务科技成果转化改革若干措施》"
        "第（一）至（十五）条；**G** = 辽科办发〔2025〕135号《辽宁省职务科技成果转化尽职免责工作指引（试行）》第一至十条。",
        "",
        "Every rule the platform enforces and the clause it comes from. **M** = the reform measures "
        "(辽科发〔2025〕6号), measures (一)–(十五); **G** = the due-diligence exemption guideline "
        "(辽科办发〔2025〕135号), articles 1–10. A refusal names its rule in the problem's `rule` field; "
        "its `title` and `detail` are in Chinese by default and in English with `Accept-Language: en`.",
        "",
    ]
    lines += ["| ID | 名称 | Name | 出处 · Source |", "|---|---|---|---|"]
    for rule in rules.values():
        lines.append(
            f"| [{rule.id}](#{rule.id.lower()}) | {_cell(rule.name['zh'])} | {_cell(rule.name['en'])} "
            f"| {_cell(rule.source['zh'])} · {_cell(rule.source['en'])} |"
        )
    lines.append("")
    for prefix, heading_zh, heading_en, service in AREAS:
        family = [rule for rule in rules.values() if rule.id.startswith(prefix + "-")]
        if not family:
            continue
        owner = f" — `{service}`" if service else ""
        lines += [f"## {heading_zh} · {heading_en}{owner}", ""]
        for rule in family:
            lines += [
                f"### {rule.id}",
                "",
                f"**{rule.name['zh']}** · **{rule.name['en']}** — {rule.source['zh']} · {rule.source['en']}",
                "",
                rule.text["zh"],
                "",
                rule.text["en"],
                "",
            ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Write docs/RULES.md (or, with --check, say whether the committed one is current)."""
    text = render_markdown()
    if "--check" in argv:
        current = DOC_FILE.exists() and DOC_FILE.read_text(encoding="utf-8") == text
        if not current:
            print(f"{DOC_FILE} is out of date: run `make docs`", file=sys.stderr)
        return 0 if current else 1
    DOC_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {DOC_FILE} ({len(catalogue())} rules)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
