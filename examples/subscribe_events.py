"""How a departmental system subscribes to Kezhuan's events over NATS JetStream.

    .venv/bin/python examples/subscribe_events.py nats://127.0.0.1:4222 "kezhuan.pricing.deal.concluded"

It creates (or reuses) a durable consumer of its own on the KEZHUAN stream, so it resumes where it
stopped after a restart, prints each CloudEvent and acknowledges it. Events can arrive more than once
(at-least-once delivery): de-duplicate by the CloudEvent `id` (it equals the `Nats-Msg-Id` header).
"""
from __future__ import annotations

import asyncio
import json
import sys

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy


async def main(url: str, subject: str, durable: str) -> None:
    connection = await nats.connect(url, max_reconnect_attempts=-1)
    js = connection.jetstream()
    config = ConsumerConfig(
        durable_name=durable,
        filter_subject=subject,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
    )
    try:
        await js.add_consumer("KEZHUAN", config)
    except Exception:
        await js.update_consumer("KEZHUAN", config)
    subscription = await js.pull_subscribe_bind(durable, stream="KEZHUAN")
    print(f"listening on {subject} as durable {durable!r}; Ctrl-C to stop", flush=True)
    seen: set[str] = set()
    try:
        while True:
            try:
                messages = await subscription.fetch(batch=50, timeout=2)
            except (NatsTimeoutError, TimeoutError):  # an empty fetch raises either
                continue
            for message in messages:
                event = json.loads(message.data)
                if event["id"] not in seen:  # your system would keep this set in its own database
                    seen.add(event["id"])
                    print(json.dumps(event, ensure_ascii=False), flush=True)
                await message.ack()
    finally:
        await subscription.unsubscribe()
        await connection.close()


if __name__ == "__main__":
    nats_url = sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"
    subject_filter = sys.argv[2] if len(sys.argv) > 2 else "kezhuan.>"
    durable_name = sys.argv[3] if len(sys.argv) > 3 else "department-example"
    try:
        asyncio.run(main(nats_url, subject_filter, durable_name))
    except KeyboardInterrupt:
        pass
