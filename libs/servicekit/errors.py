"""Domain and application errors. Pure: they know nothing of HTTP; one handler per app maps them."""
from __future__ import annotations


class KezhuanError(Exception):
    """Base of every refusal; `rule` names the policy rule (RULES.md) that explains it, if any."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, rule: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rule = rule


class PolicyViolation(KezhuanError):
    """A policy rule refused the request (422 with `rule`)."""

    status = 422
    title = "Refused by policy rule"

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail, rule)


class InvalidInput(KezhuanError):
    """The input is well-formed JSON but makes no sense (422)."""

    status = 422
    title = "Invalid input"


class InvalidState(KezhuanError):
    """The resource is not in a state that allows the action (409)."""

    status = 409
    title = "Not allowed in the current state"


class Conflict(KezhuanError):
    """A conflicting request, e.g. an Idempotency-Key reused with another body (409)."""

    status = 409
    title = "Conflict"


class TooManyRequests(KezhuanError):
    """The caller sent more than its allowance (429), e.g. anonymous objections per client address (PRC-5)."""

    status = 429
    title = "Too many requests"


class NotFound(KezhuanError):
    """Unknown, or not to be disclosed to this caller (404)."""

    status = 404
    title = "Not found"

    def __init__(self, detail: str = "no such resource") -> None:
        super().__init__(detail)


class Unauthorized(KezhuanError):
    """Missing, invalid or expired token (401)."""

    status = 401
    title = "Unauthorized"


class Forbidden(KezhuanError):
    """Valid token, but the role may not do this (403)."""

    status = 403
    title = "Forbidden"


class PreconditionFailed(KezhuanError):
    """`If-Match` names another version than the current one (412)."""

    status = 412
    title = "Precondition failed"


class UpstreamUnavailable(KezhuanError):
    """A service this request needs could not be reached (503)."""

    status = 503
    title = "Service unavailable"


def check_version(current: int, expected: int | None) -> None:
    """Optimistic concurrency: refuse when the client's `If-Match` is stale."""
    if expected is not None and expected != current:
        raise PreconditionFailed(f"version is {current}, If-Match said {expected}")
