"""Domain and application errors. Pure: they know nothing of HTTP; one handler per app maps them.

`detail` is written in English and is also the gettext msgid its translations are found by
(`make messages` extracts it). A detail with values in it is a template with `{name}` fields and
the values as keyword arguments, `PolicyViolation("OWN-1", "the shares add up to {total}", total=t)`,
so that it can be translated; a pre-formatted detail still works, and is shown in Chinese as the
rule's own text (or the status's general message) because it cannot be found in the catalogue.
"""
from __future__ import annotations

from contracts import rules
from servicekit.i18n import N_


class KezhuanError(Exception):
    """Base of every refusal; `rule` names the policy rule (docs/RULES.md) that explains it, if any."""

    status = 400
    title = N_("Bad request")

    def __init__(self, detail: str, rule: str | None = None, **params: object) -> None:
        if rule is not None and not rules.exists(rule):
            raise ValueError(f"{rule} is not in the rules catalogue (libs/contracts/rules.toml)")
        formatted = detail.format(**params) if params else detail
        super().__init__(formatted)
        self.detail = formatted
        self.message = detail
        self.params = params
        self.rule = rule


class PolicyViolation(KezhuanError):
    """A policy rule refused the request (422 with `rule`)."""

    status = 422
    title = N_("Refused by policy rule")

    def __init__(self, rule: str, detail: str, **params: object) -> None:
        super().__init__(detail, rule, **params)


class InvalidInput(KezhuanError):
    """The input is well-formed JSON but makes no sense (422)."""

    status = 422
    title = N_("Invalid input")


class InvalidState(KezhuanError):
    """The resource is not in a state that allows the action (409)."""

    status = 409
    title = N_("Not allowed in the current state")


class Conflict(KezhuanError):
    """A conflicting request, e.g. an Idempotency-Key reused with another body (409)."""

    status = 409
    title = N_("Conflict")


class TooManyRequests(KezhuanError):
    """The caller sent more than its allowance (429), e.g. anonymous objections per client address (PRC-5)."""

    status = 429
    title = "Too many requests"


class NotFound(KezhuanError):
    """Unknown, or not to be disclosed to this caller (404)."""

    status = 404
    title = N_("Not found")

    def __init__(self, detail: str = N_("no such resource"), **params: object) -> None:
        super().__init__(detail, None, **params)


class Unauthorized(KezhuanError):
    """Missing, invalid or expired token (401)."""

    status = 401
    title = N_("Unauthorized")


class Forbidden(KezhuanError):
    """Valid token, but the role may not do this (403)."""

    status = 403
    title = N_("Forbidden")


class PreconditionFailed(KezhuanError):
    """`If-Match` names another version than the current one (412)."""

    status = 412
    title = N_("Precondition failed")


class UpstreamUnavailable(KezhuanError):
    """A service this request needs could not be reached (503)."""

    status = 503
    title = N_("Service unavailable")


def check_version(current: int, expected: int | None) -> None:
    """Optimistic concurrency: refuse when the client's `If-Match` is stale."""
    if expected is not None and expected != current:
        raise PreconditionFailed("version is {current}, If-Match said {expected}", current=current, expected=expected)
