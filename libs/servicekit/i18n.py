"""Problem messages in Chinese (the default) or English, chosen by `Accept-Language` (API.md §2).

Messages are written in English in the code (the gettext msgids, extracted by `make messages`);
their Chinese is in the gettext catalogue `locales/zh_CN/LC_MESSAGES/kezhuan.po`, read with
Babel's PO reader when first needed. There is no compiled `.mo`: the catalogue that people edit is
the one that runs, so a translation can never be stale against a forgotten compile step.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from string import Formatter

from contracts.rules import Language

DEFAULT_LANGUAGE: Language = "zh"
LOCALE_DIR = Path(__file__).with_name("locales")
DOMAIN = "kezhuan"
CATALOGUE_LOCALES: dict[Language, str] = {"zh": "zh_CN"}
"""The catalogue of each language that is not the msgids' own (English)."""
CONTENT_LANGUAGE: dict[Language, str] = {"zh": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Mark `message` for extraction into the catalogue; it is translated where it is shown."""
    return message


def _language_of_tag(tag: str) -> Language | None:
    """The supported language a language range asks for (None for one we do not have)."""
    if tag == "*":
        return DEFAULT_LANGUAGE
    primary = tag.split("-", 1)[0]
    if primary == "zh":
        return "zh"
    if primary == "en":
        return "en"
    return None


def _quality(parameters: str) -> float | None:
    """The `q` of one Accept-Language entry (1.0 when absent), None when it is malformed."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if math.isfinite(quality) and 0.0 <= quality <= 1.0 else None
    return 1.0


def negotiate(accept_language: str | None) -> Language:
    """The language to answer in: the client's most preferred one that we have, else Chinese."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: Language | None = None
    best_quality = 0.0
    for entry in accept_language.split(","):
        tag, _, parameters = entry.strip().partition(";")
        quality = _quality(parameters)
        language = _language_of_tag(tag.strip().lower())
        # Strictly greater: among equal q-values the first listed wins; q=0 means "not this one".
        if language is not None and quality is not None and quality > best_quality:
            best, best_quality = language, quality
    return best or DEFAULT_LANGUAGE


def language_of_headers(headers: Iterable[tuple[bytes, bytes]]) -> Language:
    """`negotiate` over raw ASGI headers (for middleware that answers before any routing)."""
    for name, value in headers:
        if name == b"accept-language":
            return negotiate(value.decode("latin-1"))
    return DEFAULT_LANGUAGE


def catalogue_path(language: Language) -> Path:
    """Where the catalogue of `language` lives."""
    return LOCALE_DIR / CATALOGUE_LOCALES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: Language) -> Mapping[str, str]:
    """msgid → translation for `language`: only finished entries (neither empty nor fuzzy)."""
    if language not in CATALOGUE_LOCALES:
        return {}
    from babel.messages.pofile import read_po  # only when the first problem is rendered

    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=CATALOGUE_LOCALES[language])
    return {
        message.id: message.string
        for message in catalog
        if message.id and isinstance(message.id, str) and isinstance(message.string, str)
        and message.string and not message.fuzzy
    }


def placeholders(message: str) -> set[str]:
    """The `{name}` fields of a message (what its translation must keep)."""
    return {field for _, field, _, _ in Formatter().parse(message) if field is not None}


def _format(message: str, params: Mapping[str, object] | None) -> str:
    return message.format(**params) if params else message


def translate(message: str, language: Language, params: Mapping[str, object] | None = None) -> str | None:
    """`message` in `language` with its placeholders filled, or None when it has no translation yet."""
    if language == "en":
        return _format(message, params)
    translated = translations(language).get(message)
    if translated is None:
        return None
    try:
        return _format(translated, params)
    except (KeyError, IndexError, ValueError):  # a translation whose placeholders drifted: say it in English
        return None


def gettext(message: str, language: Language, params: Mapping[str, object] | None = None) -> str:
    """`message` in `language`, falling back to the English msgid while it has no translation."""
    translated = translate(message, language, params)
    return translated if translated is not None else _format(message, params)
