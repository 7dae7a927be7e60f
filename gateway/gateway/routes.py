"""The route table: the first path segment after /api/v1/ names the service that answers."""
from __future__ import annotations

API_PREFIX = "/api/v1/"
TEST_CLOCK_PATH = "/api/v1/test-clock"
WEBHOOKS_PATH = "/api/v1/webhooks"
"""Served by the gateway itself, like the test clock: webhooks run inside the gateway process."""
AUDIT_VERIFY_PATH = "/api/v1/audit/verify"
"""Every service has its own audit log; `?service=<name>` picks which one to verify."""
OPERATIONS_SEGMENTS = frozenset({"dead-letters", "outbox"})
"""Every service has its own dead letters and outbox; `?service=<name>` picks whose (operators only)."""


def is_per_service(path: str) -> bool:
    """True for the paths every service serves for itself (audit, dead letters, outbox): `?service=` picks one."""
    return path == AUDIT_VERIFY_PATH or (path.startswith(API_PREFIX) and first_segment(path) in OPERATIONS_SEGMENTS)

ROUTES: dict[str, str] = {
    # evaluation (M 十三): indicators, exports, charts, rebuilds
    "evaluation": "evaluation",
    # ownership
    "units": "ownership",
    "achievements": "ownership",
    "empowerments": "ownership",
    "institutions": "ownership",
    "technology-managers": "ownership",
    # pricing
    "transactions": "pricing",
    "notices": "pricing",
    "listings": "pricing",
    "auctions": "pricing",
    "challenges": "pricing",
    # exemption
    "exemption-cases": "exemption",
    # finance
    "incomes": "finance",
    "rewards": "finance",
    "horizontal-investments": "finance",
    "funds": "finance",
    "invest-first-projects": "finance",
    "subsidies": "finance",
    "receivables": "finance",
    "financial-products": "finance",
    "risk-compensation-pools": "finance",
}

SUBRESOURCE_ROUTES: dict[str, tuple[str, str]] = {
    # EXE-13: a transaction's exemption readiness is exemption's, from the pricing record it keeps.
    "transactions": ("/exemption-readiness", "exemption"),
}
"""`segment → (last segment, service)`: `/api/v1/<segment>/{id}<last segment>` goes to that service instead."""

_PREFIX_LEN = len(API_PREFIX)
_SUBRESOURCE_SLASHES = API_PREFIX.count("/") + 2


def first_segment(path: str) -> str:
    """`/api/v1/units/7/policy` → `units` (the caller has checked the /api/v1/ prefix)."""
    end = path.find("/", _PREFIX_LEN)
    return path[_PREFIX_LEN:] if end < 0 else path[_PREFIX_LEN:end]


def route(segment: str, path: str) -> str | None:
    """The service that answers `path` whose first segment is `segment` (sub-resources of another service included)."""
    override = SUBRESOURCE_ROUTES.get(segment)
    if override is not None and path.endswith(override[0]) and path.count("/") == _SUBRESOURCE_SLASHES:
        return override[1]
    return ROUTES.get(segment)


def service_for(path: str) -> str | None:
    """The service that answers a public path, or None when no service owns its prefix."""
    if not path.startswith(API_PREFIX):
        return None
    return route(first_segment(path), path)


def has_dot_segment(path: str) -> bool:
    """True for `.`/`..` segments, which an upstream URL library might resolve past the route table."""
    if "/." not in path:
        return False
    return any(segment in (".", "..") for segment in path.split("/"))
