"""NATS connection with JetStream: retried first connect, endless reconnect, the KEZHUAN stream and its dead letters."""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import nats
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from contracts.envelope import STREAM

log = logging.getLogger("kezhuan.nats")

DUPLICATE_WINDOW = timedelta(minutes=10)
"""Longer than the worst relay lag we expect (leases of 15 s, retries every second)."""


def stream_config(replicas: int = 1) -> StreamConfig:
    """The one stream of API.md §7."""
    return StreamConfig(
        name=STREAM,
        subjects=["kezhuan.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        duplicate_window=DUPLICATE_WINDOW.total_seconds(),
        num_replicas=replicas,
        # EVA-2: the evaluation service rebuilds its model from the first message, so the stream keeps
        # every event: no age, count or size limit (said explicitly, so an update restores it).
        max_age=0,
        max_msgs=-1,
        max_bytes=-1,
        max_msgs_per_subject=-1,
    )


DLQ_STREAM = "KEZHUAN_DLQ"
"""Where consumers keep what they could not apply (servicekit.deadletters)."""
DLQ_PREFIX = "kezhuan-dlq."


def dlq_stream_config(replicas: int = 1) -> StreamConfig:
    """The dead-letter stream: file storage, kept until an operator redrives or deletes."""
    return StreamConfig(
        name=DLQ_STREAM,
        subjects=[f"{DLQ_PREFIX}>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        num_replicas=replicas,
    )


async def ensure_stream(js: JetStreamContext, replicas: int = 1, config: StreamConfig | None = None) -> None:
    """Create or update the stream (by default KEZHUAN), idempotently, also on an external NATS."""
    config = config or stream_config(replicas)
    assert config.name is not None, "a stream config names its stream"
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except Exception:  # another process created it first
            pass
    await js.update_stream(config)


def raise_if_cancelled() -> None:
    """Honour a cancellation that Python 3.11's `asyncio.wait_for` (inside nats-py's `fetch`) swallowed
    because the fetch's result raced it: without this a consumer loop never stops and shutdown hangs."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class NatsLink:
    """Owns the connection; connects in the background so a service starts without NATS."""

    def __init__(self, url: str, name: str, replicas: int = 1) -> None:
        self.url = url
        self.name = name
        self.replicas = replicas
        self.nc: Any = None
        self._js: JetStreamContext | None = None
        self.ready = asyncio.Event()

    def jetstream(self) -> JetStreamContext | None:
        """The JetStream context while connected, else None."""
        if self.nc is None or not self.nc.is_connected:
            return None
        return self._js

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def connect_forever(self) -> None:
        """Retry the first connect until it succeeds (nats-py does not retry it itself)."""
        delay = 0.2
        while self.nc is None:
            try:
                nc = await nats.connect(
                    servers=[server.strip() for server in self.url.split(",")],
                    name=self.name,
                    connect_timeout=2,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                )
                js = nc.jetstream(timeout=5)
                await ensure_stream(js, self.replicas)
                await ensure_stream(js, config=dlq_stream_config(self.replicas))
                self._js = js
                self.nc = nc
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("NATS at %s not reachable yet (%s); retrying", self.url, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.ready.set()

    async def _on_error(self, exc: Exception) -> None:
        log.debug("NATS: %s", exc)

    async def close(self) -> None:
        """Close without draining (draining blocks on open pull subscriptions)."""
        if self.nc is not None:
            try:
                await self.nc.close()
            except Exception:
                pass
