"""Per-client token buckets: a client (token `sub`, or IP when anonymous) gets N requests a minute.

A bucket holds up to one minute's allowance and refills continuously, so bursts up to the limit
pass and a client over it gets 429 with `Retry-After` until a token has refilled. Buckets live in
one dict (insertion-ordered: the oldest is evicted first when it is full), so the hot path is one
lookup and a little arithmetic.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """Token bucket per client key; `take(key)` is 0.0 when allowed, else seconds until allowed."""

    def __init__(
        self,
        per_minute: int,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = per_minute > 0
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        # key → [tokens left, instant of the last refill]
        self._buckets: dict[str, list[float]] = {}

    def take(self, key: str) -> float:
        """Spend one token of `key`'s bucket; 0.0 if there was one, else the wait in seconds."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._max_clients:
                del self._buckets[next(iter(self._buckets))]
            self._buckets[key] = [self._capacity - 1.0, now]
            return 0.0
        tokens = min(self._capacity, bucket[0] + (now - bucket[1]) * self._per_second)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / self._per_second

    @staticmethod
    def retry_after(wait: float) -> str:
        """`Retry-After` in whole seconds, never 0."""
        return str(max(1, math.ceil(wait)))
