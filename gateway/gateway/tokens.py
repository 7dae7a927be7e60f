"""Bearer-token check at the edge, with a small cache so a busy client pays for HMAC once."""
from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from servicekit.auth import decode_token
from servicekit.errors import Unauthorized


class TokenCache:
    """Verifies `Authorization: Bearer` values; remembers successes until `exp` or `max_age`, whichever is first."""

    def __init__(
        self,
        secret: str,
        *,
        max_entries: int = 10_000,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        # token → (the instant, epoch seconds, until which it counts as verified, its `sub`);
        # dicts keep insertion order, so the first key is the oldest entry and eviction is O(1).
        self._verified: dict[str, tuple[float, str]] = {}

    def __len__(self) -> int:
        return len(self._verified)

    def check(self, authorization: str) -> str | None:
        """None when the header carries a valid token, else why it is refused."""
        refusal = self.verify(authorization)[0]
        return None if refusal is None else refusal.detail

    def verify(self, authorization: str) -> tuple[Unauthorized | None, str | None]:
        """(None, the token's `sub`) when the header carries a valid token, else (the refusal, None)."""
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return Unauthorized("the Authorization header must be `Bearer <token>`"), None
        now = self._clock()
        cached = self._verified.get(token)
        if cached is not None:
            if now < cached[0]:
                return None, cached[1]
            del self._verified[token]
        try:
            principal = decode_token(token, self._secret)
        except Unauthorized as exc:
            return exc, None
        # The signature is verified above; this second read only extracts `exp` for the cache.
        exp = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        if len(self._verified) >= self._max_entries:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (min(exp, now + self._max_age), principal.sub)
        return None, principal.sub
