"""EVA-2: rebuild the read model from the stream's first message and swap it in.

A rebuild creates a new `building` generation. The live consumer writes every event it applies to
the active generation and to every building one; the rebuild replays the stream from its first
message up to the last sequence it saw once the building generation existed. Every write is an
idempotent insert, so together they hold every event exactly once, and the swap (building → active,
active → retired) loses nothing that arrives meanwhile. A replica that stops while replaying stops
renewing the heartbeat; another replica then takes the rebuild over and replays it again.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.envelope import STREAM, CloudEvent
from contracts.events import CATALOGUE
from evaluation import repository
from evaluation.models import Generation, Rebuild
from evaluation.schemas import RebuildRead
from evaluation.service import apply_to_generations
from servicekit.auth import Principal, require_role
from servicekit.clock import real_now
from servicekit.errors import NotFound
from servicekit.outbox import new_id

if TYPE_CHECKING:
    from servicekit.app import Runtime

log = logging.getLogger("kezhuan.evaluation.rebuilds")

STALE_AFTER = timedelta(seconds=15)
"""A heartbeat older than this means the replaying process is gone."""
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 500


def _read(rebuild: Rebuild) -> RebuildRead:
    return RebuildRead(id=rebuild.id, state="done" if rebuild.state == "done" else "running", events=rebuild.events)


async def request_rebuild(session: AsyncSession, *, actor: Principal, now: datetime) -> RebuildRead:
    """EVA-2: start a rebuild (platform_admin); while one runs, asking again returns it."""
    require_role(actor, "platform_admin")
    running = (await session.execute(select(Rebuild).where(Rebuild.state == "running").limit(1))).scalar_one_or_none()
    if running is not None:
        return _read(running)
    generation = await repository.next_generation_id(session)
    session.add(Generation(id=generation, state="building", created_at=now))
    rebuild = Rebuild(
        id=new_id(),
        generation=generation,
        state="running",
        events=0,
        requested_by=actor.sub,
        requested_at=now,
        heartbeat_at=NEVER,  # claimable at once by any replica's worker
    )
    session.add(rebuild)
    await session.flush()
    return _read(rebuild)


async def get_rebuild(session: AsyncSession, *, actor: Principal, rebuild_id: str) -> RebuildRead:
    """A rebuild's progress (platform_admin)."""
    require_role(actor, "platform_admin")
    rebuild = await repository.get_rebuild(session, rebuild_id)
    if rebuild is None:
        raise NotFound("no such rebuild")
    return _read(rebuild)


class RebuildWorker:
    """Takes over running rebuilds whose heartbeat is stale (new ones have none) and replays them."""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime

    async def run(self) -> None:
        """Look for work every half second until cancelled."""
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("rebuild worker failed; retrying")

    async def run_once(self) -> bool:
        """Claim one rebuild and carry it to the end; False when there was nothing to do."""
        if self.runtime.nats.jetstream() is None:
            return False
        async with self.runtime.sessions() as session, session.begin():
            candidate = await repository.get_claimable_rebuild(session, real_now() - STALE_AFTER)
            if candidate is None:
                return False
            if not await repository.claim_rebuild(session, candidate.id, candidate.heartbeat_at, real_now()):
                return False
            rebuild_id, generation = candidate.id, candidate.generation
        await self._replay(rebuild_id, generation)
        await self._swap(rebuild_id, generation)
        return True

    async def _replay(self, rebuild_id: str, generation: int) -> None:
        js = self.runtime.nats.jetstream()
        if js is None:
            raise ConnectionError("NATS is not connected")
        target = (await js.stream_info(STREAM)).state.last_seq
        durable = f"evaluation-rebuild-{uuid.uuid4().hex[:12]}"
        await js.add_consumer(STREAM, ConsumerConfig(
            durable_name=durable,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.ALL,
            inactive_threshold=120,
            max_ack_pending=-1,
        ))
        subscription = await js.pull_subscribe_bind(durable, stream=STREAM)
        events = 0
        try:
            sequence = 0
            while sequence < target:
                try:
                    messages = await subscription.fetch(batch=BATCH, timeout=2)
                except (NatsTimeoutError, TimeoutError):
                    await self._beat(rebuild_id, events)
                    continue
                async with self.runtime.sessions() as session, session.begin():
                    for message in messages:
                        sequence = message.metadata.sequence.stream
                        if sequence <= target and await _apply_replayed(session, generation, message.data):
                            events += 1
                    await _record_progress(session, rebuild_id, events)
                await messages[-1].ack()
                if messages[-1].metadata.num_pending == 0:
                    break
        finally:
            try:
                await subscription.unsubscribe()
                await js.delete_consumer(STREAM, durable)
            except Exception:  # the server removes it after inactive_threshold anyway
                log.warning("could not delete the rebuild consumer %s", durable)

    async def _beat(self, rebuild_id: str, events: int) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await _record_progress(session, rebuild_id, events)

    async def _swap(self, rebuild_id: str, generation: int) -> None:
        async with self.runtime.sessions() as session, session.begin():
            rebuild = await session.get(Rebuild, rebuild_id, with_for_update=True)
            if rebuild is None or rebuild.state != "running":
                return
            retired = [row[0] for row in await session.execute(select(Generation.id).where(Generation.state == "active"))]
            await session.execute(update(Generation).where(Generation.state == "active").values(state="retired"))
            await session.execute(update(Generation).where(Generation.id == generation).values(state="active"))
            rebuild.state = "done"
            rebuild.finished_at = real_now()
            rebuild.version += 1
        async with self.runtime.sessions() as session, session.begin():
            await repository.drop_generations(session, retired)
        log.info("rebuild %s done: generation %d active, %d retired", rebuild_id, generation, len(retired))


async def _apply_replayed(session: AsyncSession, generation: int, raw: bytes) -> bool:
    """Apply one replayed message as the live consumer would; what it dead-letters, the replay skips."""
    try:
        event = CloudEvent.model_validate_json(raw)
        model = CATALOGUE.get(event.type)
        if model is None:
            return False
        data = model.model_validate(event.data).model_dump(mode="json")
    except ValidationError:
        return False
    await apply_to_generations(
        session, [generation], event_type=event.type, event_id=event.id, at=event.time, data=data
    )
    return True


async def _record_progress(session: AsyncSession, rebuild_id: str, events: int) -> None:
    await session.execute(
        update(Rebuild).where(Rebuild.id == rebuild_id, Rebuild.state == "running").values(
            events=events, heartbeat_at=real_now()
        )
    )
