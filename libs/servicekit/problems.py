"""problem+json (RFC 9457) for every error, so no request ever yields an HTML page or a bare 500.

`title` and `detail` follow `Accept-Language` (API.md §2): Chinese unless English is asked for;
`type`, `status`, `rule` and `errors[].loc` never change with the language.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from contracts import rules
from contracts.rules import Language
from servicekit.errors import KezhuanError
from servicekit.i18n import CONTENT_LANGUAGE, DEFAULT_LANGUAGE, N_, gettext, negotiate, translate, translations

log = logging.getLogger("kezhuan.errors")

PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: N_("Bad request"),
    401: N_("Unauthorized"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    412: N_("Precondition failed"),
    413: N_("Payload too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal server error"),
    502: N_("Bad gateway"),
    503: N_("Service unavailable"),
    504: N_("Gateway timeout"),
}


def problem_title(status: int, language: Language, *, title: str | None = None, rule: str | None = None) -> str:
    """The title: the rule's ID and name when a rule refused, else the kind of error."""
    if rule is not None and rules.exists(rule):
        return f"{rule} {rules.get(rule).name_in(language)}"
    return gettext(title or TITLES.get(status, N_("Error")), language)


def problem_detail(
    status: int,
    detail: str,
    language: Language,
    *,
    rule: str | None = None,
    params: Mapping[str, object] | None = None,
) -> str:
    """`detail` (an English msgid) in `language`; while it has no translation, the rule's own text,
    or the kind of error followed by the English detail, so that nothing is lost."""
    translated = translate(detail, language, params)
    if translated is not None:
        return translated
    if rule is not None and rules.exists(rule):
        return rules.get(rule).text_in(language)
    return gettext(N_("{kind}: {detail}"), language, {
        "kind": gettext(TITLES.get(status, N_("Error")), language),
        "detail": detail.format(**params) if params else detail,
    })


def problem_document(
    status: int,
    detail: str,
    *,
    language: Language = DEFAULT_LANGUAGE,
    title: str | None = None,
    rule: str | None = None,
    params: Mapping[str, object] | None = None,
    errors: list[dict[str, Any]] | None = None,
    localized: bool = False,
) -> dict[str, Any]:
    """The problem+json body; `detail` and `title` are English msgids rendered in `language`
    (`localized`: the detail is already written in `language`)."""
    body: dict[str, Any] = {
        "type": f"https://kezhuan.example/problems/{rule or status}",
        "title": problem_title(status, language, title=title, rule=rule),
        "status": status,
        "detail": detail if localized else problem_detail(status, detail, language, rule=rule, params=params),
    }
    if rule:
        body["rule"] = rule
    if errors is not None:
        body["errors"] = errors
    return body


def language_headers(language: Language) -> dict[str, str]:
    """What a localized answer says about its language."""
    return {"Content-Language": CONTENT_LANGUAGE[language], "Vary": "Accept-Language"}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    rule: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    language: Language = DEFAULT_LANGUAGE,
    params: Mapping[str, object] | None = None,
    localized: bool = False,
) -> Response:
    """A problem+json response in `language`; `detail` is an English msgid with `{name}` fields for `params`."""
    body = problem_document(
        status, detail, language=language, title=title, rule=rule, params=params, errors=errors, localized=localized
    )
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON,
        headers={**language_headers(language), **(headers or {})},
    )


def request_language(request: Request) -> Language:
    """The language a request's problems are written in."""
    return negotiate(request.headers.get("accept-language"))


TEXT_NOT_STORABLE = frozenset({"22021", "22P05"})
"""PostgreSQL SQLSTATEs for text it cannot hold (a NUL character, an untranslatable one): bad input, not a fault."""

VALIDATION_MESSAGES: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "string_unicode": N_("Input should be a valid string"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer"),
    "int_parsing_size": N_("Input should be a valid integer"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number"),
    "finite_number": N_("Input should be a finite number"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "enum": N_("Input should be {expected}"),
    "literal_error": N_("Input should be {expected}"),
    "list_type": N_("Input should be a valid list"),
    "tuple_type": N_("Input should be a valid list"),
    "set_type": N_("Input should be a valid list"),
    "too_short": N_("Should have at least {min_length} items"),
    "too_long": N_("Should have at most {max_length} items"),
    "dict_type": N_("Input should be an object"),
    "model_type": N_("Input should be an object"),
    "model_attributes_type": N_("Input should be an object"),
    "date_type": N_("Input should be a valid date (YYYY-MM-DD)"),
    "date_parsing": N_("Input should be a valid date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": N_("Input should be a valid date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": N_("Input should be a valid date (YYYY-MM-DD)"),
    "datetime_type": N_("Input should be a valid RFC 3339 timestamp"),
    "datetime_parsing": N_("Input should be a valid RFC 3339 timestamp"),
    "datetime_from_date_parsing": N_("Input should be a valid RFC 3339 timestamp"),
    "datetime_object_invalid": N_("Input should be a valid RFC 3339 timestamp"),
    "timezone_aware": N_("Input should have a timezone offset"),
    "decimal_type": N_("Input should be a decimal string"),
    "decimal_parsing": N_("Input should be a decimal string"),
    "decimal_max_digits": N_("Decimal input should have no more than {max_digits} digits in total"),
    "decimal_max_places": N_("Decimal input should have no more than {decimal_places} decimal places"),
    "decimal_whole_digits": N_("Decimal input should have no more than {whole_digits} digits before the decimal point"),
    "uuid_type": N_("Input should be a valid UUID"),
    "uuid_parsing": N_("Input should be a valid UUID"),
    "url_type": N_("Input should be a valid URL"),
    "url_parsing": N_("Input should be a valid URL"),
    "url_scheme": N_("URL scheme should be {expected_schemes}"),
    "url_too_long": N_("URL should have at most {max_length} characters"),
    "union_tag_invalid": N_("'{tag}' is not one of the expected values of {discriminator}: {expected_tags}"),
    "union_tag_not_found": N_("The field {discriminator} is needed to tell the kind"),
    "json_invalid": N_("Invalid JSON: {error}"),
    "json_type": N_("Invalid JSON"),
    "value_error": N_("Value error, {error}"),
    "assertion_error": N_("Assertion failed, {error}"),
}
"""Pydantic error types → the msgid of their message in our catalogue (English output keeps pydantic's own)."""


def _field_errors(exc: RequestValidationError, language: Language) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": _field_message(error, language),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]


def _field_message(error: Mapping[str, Any], language: Language) -> str:
    """One validation error's message: pydantic's own in English, the catalogue's otherwise."""
    original = str(error.get("msg", ""))
    message = VALIDATION_MESSAGES.get(str(error.get("type", "")))
    if language == "en":
        return original
    if message is None:
        return gettext(N_("Invalid value: {error}"), language, {"error": original})
    context = {name: str(value) for name, value in (error.get("ctx") or {}).items()}
    if "error" in context:
        context["error"] = gettext(context["error"], language)  # a validator's own message, if it is catalogued
    translated = translate(message, language, context)
    return translated if translated is not None else original


def _validation_detail(errors: list[dict[str, Any]], language: Language) -> str:
    shown = [
        gettext(N_("{location}: {message}"), language, {"location": ".".join(e["loc"]), "message": e["msg"]})
        for e in errors[:5]
    ]
    return gettext(N_("; "), language).join(shown) or gettext(N_("invalid request"), language)


def _allowed_methods(request: Request) -> str:
    """Every method any route serves at this path (Starlette names only the first matching route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


def error_response(exc: KezhuanError, language: Language) -> Response:
    """The problem+json answer to a domain error, in `language`."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(
        exc.status, exc.message, title=exc.title, rule=exc.rule, headers=headers, language=language, params=exc.params
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors, HTTP errors and anything unexpected to problem+json."""
    # Read the catalogues now (once per process, ~0.3 s with Babel's import), not during the first refusal.
    translations(DEFAULT_LANGUAGE)
    rules.catalogue()

    @app.exception_handler(KezhuanError)
    async def _domain(request: Request, exc: KezhuanError) -> Response:
        return error_response(exc, request_language(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        language = request_language(request)
        errors = _field_errors(exc, language)
        detail = _validation_detail(errors, language)
        return problem(422, detail, errors=errors, language=language, localized=True)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        standard = exc.detail is None or exc.detail == _phrase(status)
        detail = TITLES.get(status, N_("Error")) if standard or not isinstance(exc.detail, str) else exc.detail
        headers = getattr(exc, "headers", None)
        if status == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return problem(status, detail, headers=headers, language=request_language(request))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        language = request_language(request)
        if getattr(exc.orig, "sqlstate", None) in TEXT_NOT_STORABLE:
            return problem(
                422, "text must not contain NUL (\\u0000) or other characters that cannot be stored", language=language
            )
        log.exception("database error", exc_info=exc)
        return problem(500, "an unexpected error occurred; it has been logged", language=language)

    @app.exception_handler(StaleDataError)
    async def _lost_update(request: Request, exc: StaleDataError) -> Response:
        # The row's version moved between reading and writing it (servicekit.db.Versioned): never overwrite.
        return problem(
            409, "the resource was changed by another request meanwhile; read it again and retry",
            language=request_language(request),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "an unexpected error occurred; it has been logged", language=request_language(request))


def _phrase(status: int) -> str | None:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return None


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": TITLES[status],
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "rule": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                    "required": ["type", "title", "status", "detail"],
                }
            }
        },
    }
    # 400: a body that is not text (e.g. not UTF-8) cannot even be parsed as JSON; framework-level.
    for status in (400, 401, 403, 404, 409, 412, 413, 422, 429, 503)
}
"""Documented on every route, so generated clients and fuzzers know every error shape."""
