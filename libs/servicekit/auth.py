"""JWT auth (HS256) with the roles and unit scoping of API.md §2."""
from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

import jwt

from servicekit.clock import real_now
from servicekit.errors import Forbidden, NotFound, Unauthorized

ROLES = frozenset(
    {
        "platform_admin",
        "unit_admin",
        "researcher",
        "provincial_office",
        "department",
        "platform_company",
        "enterprise",
        "financial_institution",
    }
)
UNIT_SCOPED_ROLES = frozenset({"unit_admin", "researcher"})
SERVICE_ROLE = "service"
"""Role of the tokens services mint for read-only lookups at each other."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    sub: str
    name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    unit_id: str | None = None

    def has(self, *roles: str) -> bool:
        """True when the caller holds any of `roles`."""
        return not self.roles.isdisjoint(roles)


def decode_token(token: str, secret: str) -> Principal:
    """Verify signature, algorithm and expiry (real time), and read the claims."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("the token has expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("invalid token: {reason}", reason=str(exc)) from exc
    roles = claims.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("invalid token: `roles` must be a list of strings")
    sub = claims["sub"]
    unit_id = claims.get("unit_id")
    if not isinstance(sub, str) or (unit_id is not None and not isinstance(unit_id, str)):
        raise Unauthorized("invalid token: `sub` and `unit_id` must be strings")
    return Principal(sub=sub, name=str(claims.get("name", "")), roles=frozenset(roles), unit_id=unit_id)


class VerifiedTokens:
    """`decode_token` with memory: a token verified once counts as verified until its `exp` (at most
    `max_age` seconds), so a client's every request does not pay for HMAC and claim checks again."""

    def __init__(self, secret: str, *, max_entries: int = 10_000, max_age: float = 60.0) -> None:
        self._secret = secret
        self._max_entries = max_entries
        self._max_age = max_age
        self._verified: dict[str, tuple[float, Principal]] = {}  # insertion order: oldest first

    def principal(self, token: str) -> Principal:
        """The caller `token` names; Unauthorized as `decode_token` says."""
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if now < cached[0]:
                return cached[1]
            del self._verified[token]
        principal = decode_token(token, self._secret)
        expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        if len(self._verified) >= self._max_entries:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (min(expires, now + self._max_age), principal)
        return principal


def mint_token(
    secret: str,
    *,
    sub: str,
    roles: Iterable[str],
    unit_id: str | None = None,
    name: str = "",
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """Sign a token (dev tooling, tests and service-to-service lookups)."""
    claims: dict = {"sub": sub, "name": name, "roles": list(roles), "exp": real_now() + ttl}
    if unit_id is not None:
        claims["unit_id"] = unit_id
    return jwt.encode(claims, secret, algorithm="HS256")


def require_role(principal: Principal, *roles: str) -> None:
    """403 unless the caller holds one of `roles`."""
    if not principal.has(*roles):
        raise Forbidden("this action needs one of the roles: {roles}", roles=", ".join(roles))


def ensure_unit_access(
    principal: Principal,
    unit_id: str,
    *,
    unit_roles: Iterable[str],
    global_roles: Iterable[str] = (),
) -> None:
    """Unit scoping: global roles pass; unit-scoped callers of another unit get 404; unit roles pass; the rest 403."""
    if principal.has(*global_roles) or principal.has(SERVICE_ROLE):
        return
    unit_roles = tuple(unit_roles)
    if principal.has(*UNIT_SCOPED_ROLES) and principal.unit_id != unit_id:
        # Another unit's resource: 404 whatever the role, or a 403 would disclose that it exists.
        raise NotFound()
    if principal.has(*unit_roles):
        return
    raise Forbidden("your role may not do this")
