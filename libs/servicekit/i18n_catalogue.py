"""`make messages`: collect every problem message from the code into the gettext catalogue.

Extraction is Babel's (what `pybabel extract` does), with the error constructors as keywords, so a
new `raise PolicyViolation("OWN-1", "…")` is picked up without marking it. The catalogue is then
updated the way `pybabel update` would, but written without source locations and sorted by msgid,
so that engineers adding messages at the same time touch different lines and merge cleanly.
"""
from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from contracts.rules import Language
from servicekit.i18n import CATALOGUE_LOCALES, catalogue_path, placeholders

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("libs", "services", "gateway")
METHOD_MAP = [("**/tests/**", "ignore"), ("**/migrations/**", "ignore"), ("**.py", "python")]
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "N_": None,
    "gettext": None,
    "translate": None,
    "problem": (2,),
    "KezhuanError": None,
    "PolicyViolation": (2,),
    "InvalidInput": None,
    "InvalidState": None,
    "Conflict": None,
    "NotFound": None,
    "Unauthorized": None,
    "Forbidden": None,
    "PreconditionFailed": None,
    "UpstreamUnavailable": None,
    "ValueError": None,  # validators' messages appear in a 422's errors and detail
}
"""Calls whose (argument-numbered) string literal is a message; the error classes of servicekit.errors."""


@dataclass(frozen=True)
class Gap:
    """A message the catalogue of `language` does not translate (properly) yet."""

    language: Language
    msgid: str
    where: str
    problem: str


def extract(dynamic: list[str] | None = None) -> Catalog:
    """Every message the code can show, as a template catalogue (with where each is used);
    `dynamic` collects the f-string messages Babel had to skip (shown as their rule's text)."""
    template = Catalog(project="kezhuan", fuzzy=False)
    warnings = io.StringIO()
    with contextlib.redirect_stderr(warnings):
        for source in SOURCE_DIRS:
            found = extract_from_dir(ROOT / source, method_map=METHOD_MAP, keywords=KEYWORDS)
            for filename, lineno, message, _comments, context in found:
                if isinstance(message, str) and message:
                    template.add(message, locations=[(f"{source}/{filename}", lineno)], context=context)
    if dynamic is not None:
        dynamic.extend(
            line.split(": warning:", 1)[0].removeprefix(f"{ROOT}/")
            for line in warnings.getvalue().splitlines() if "Skipping f-string" in line
        )
    return template


def _load(language: Language) -> Catalog:
    path = catalogue_path(language)
    if not path.exists():
        return Catalog(locale=CATALOGUE_LOCALES[language], project="kezhuan", fuzzy=False)
    with path.open("rb") as po:
        return read_po(po, locale=CATALOGUE_LOCALES[language])


def update(dynamic: list[str] | None = None) -> dict[Language, Catalog]:
    """Bring every catalogue in line with the code: new msgids added empty, unused ones dropped."""
    template = extract(dynamic)
    updated = {}
    for language in CATALOGUE_LOCALES:
        catalog = _load(language)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        path = catalogue_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, catalog, width=0, no_location=True, sort_output=True, ignore_obsolete=True)
        updated[language] = catalog
    return updated


def gaps(template: Catalog | None = None) -> Iterator[Gap]:
    """Messages in the code without a finished translation, or whose translation lost a placeholder."""
    template = template or extract()
    for language in CATALOGUE_LOCALES:
        catalog = _load(language)
        for message in template:
            if not message.id:
                continue
            where = ", ".join(f"{file}:{line}" for file, line in message.locations)
            entry = catalog.get(message.id, message.context)
            if entry is None or not entry.string or entry.fuzzy:
                yield Gap(language, str(message.id), where, "no translation")
            elif placeholders(str(entry.string)) != placeholders(str(message.id)):
                yield Gap(language, str(message.id), where, f"placeholders differ: {entry.string!r}")


def describe(found: list[Gap]) -> str:
    """What to do about `found`, for a person reading a test failure or `make messages`."""
    lines = [f"{len(found)} message(s) need a translation in the catalogue:"]
    for gap in found:
        lines.append(f"  [{gap.language}] {gap.msgid!r} ({gap.where}): {gap.problem}")
    paths = sorted({str(catalogue_path(gap.language).relative_to(ROOT)) for gap in found})
    lines.append(
        f"Run `make messages`, then write each msgstr in {', '.join(paths)} "
        "(keep every {placeholder}; an f-string detail cannot be translated: pass a template and its values, "
        "PolicyViolation(rule, \"… {name} …\", name=value))."
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Update the catalogues (or, with --check, only report what is missing) and list the gaps."""
    dynamic: list[str] = []
    if "--check" not in argv:
        update(dynamic)
        if dynamic and "--dynamic" in argv:
            print("f-string details (shown in Chinese as their rule's text until they become templates):")
            print("\n".join(f"  {site}" for site in dynamic))
        elif dynamic:
            print(f"{len(dynamic)} f-string details cannot be translated (list them: make messages ARGS=--dynamic)")
    found = list(gaps())
    if found:
        print(describe(found), file=sys.stderr)
        return 1 if "--check" in argv else 0
    print("every message has its translation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
