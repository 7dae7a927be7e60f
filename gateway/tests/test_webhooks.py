"""Webhooks end to end: real NATS, the gateway's real database, a real receiving HTTP server on loopback.

Every delivery the receiver accepts is checked with the verifier the README documents
(examples/verify_webhook.py, included verbatim in the README).
"""
from __future__ import annotations

import asyncio
import importlib.util
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
import pytest
from aiohttp import web
from nats.js.errors import NotFoundError
from sqlalchemy import select

from contracts.envelope import STREAM, subject_for
from gateway.app import create_app
from gateway.models import WebhookEvent
from gateway.webhooks.service import RetryPolicy
from gateway.webhooks.signing import signature
from servicekit.auth import mint_token
from servicekit.clock import real_now
from servicekit.deadletters import dead_letter_subject
from servicekit.natsio import DLQ_STREAM
from servicekit.settings import DEV_JWT_SECRET, KezhuanSettings
from servicekit.testing import DatabaseFactory, eventually, publish_event

from .conftest import serve

ROOT = Path(__file__).resolve().parents[2]
VERIFIER = ROOT / "examples" / "verify_webhook.py"
# No service consumes these types, so the hand-made events of these tests disturb nobody.
OPENED, CONCLUDED, REVIEWED = "exemption.case.opened", "exemption.conclusion.issued", "exemption.review.requested"
NOT_SUBSCRIBED = "pricing.notice.published"


def load_verifier() -> Callable[..., bool]:
    spec = importlib.util.spec_from_file_location("verify_webhook", VERIFIER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify_webhook


verify_webhook = load_verifier()


@dataclass
class Received:
    hook: str
    event_id: str
    subject: str
    answered: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A departmental system: verifies each delivery, fails some on purpose, remembers everything."""

    url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    fail_once: set[str] = field(default_factory=set)
    fail_always: set[str] = field(default_factory=set)
    seen: dict[str, set[Any]] = field(default_factory=dict)
    """Per subscription, as each departmental system keeps its own."""
    log: list[Received] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        hook = request.match_info["hook"]
        body = await request.read()
        event = orjson.loads(body)
        if not verify_webhook(self.secrets[hook], request.headers, body, self.seen.setdefault(hook, set())):
            answered = 401
        elif event["id"] in self.fail_always:
            answered = 500
        elif event["id"] in self.fail_once:
            self.fail_once.discard(event["id"])
            answered = 500
        else:
            answered = 204
        self.log.append(Received(hook, event["id"], event["subject"], answered, dict(request.headers), body))
        return web.Response(status=answered, text="boom" if answered == 500 else "")

    def accepted(self, hook: str) -> list[str]:
        return [r.event_id for r in self.log if r.hook == hook and r.answered == 204]

    def arrivals(self, hook: str, subject: str) -> list[tuple[str, int]]:
        return [(r.event_id, r.answered) for r in self.log if r.hook == hook and r.subject == subject]


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/{hook}", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    yield state
    await runner.cleanup()


@pytest.fixture(scope="module")
async def gateway_http(
    databases: DatabaseFactory, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    settings = KezhuanSettings(
        env="test",
        nats_url=nats_url,
        data_dir=tmp_path_factory.mktemp("webhooks"),
        database_url_gateway=await databases.url(f"gateway_{uuid.uuid4().hex[:6]}"),
    )
    app = create_app(settings, webhooks=RetryPolicy(max_attempts=3, first_delay=timedelta(seconds=1)))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        # Earlier tests left events on the stream: let the dispatcher catch up, so that only this
        # module's events reach the subscriptions it creates.
        await asyncio.wait_for(app.webhooks.nats.ready.wait(), 20)  # it creates the stream if need be
        sentinel = await publish_event(nats_url, NOT_SUBSCRIBED, "sentinel", {})
        await eventually(lambda: _recorded(app, sentinel), timeout=60)
        yield http


def auth(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(DEV_JWT_SECRET, sub=sub, roles=[role])}"}


DEPARTMENT = auth("department", "dept-science")


async def subscribe(http: httpx.AsyncClient, receiver: Receiver, event_types: list[str], headers: dict[str, str] = DEPARTMENT) -> dict[str, Any]:
    hook = uuid.uuid4().hex[:8]
    response = await http.post(
        "/api/v1/webhooks", json={"event_types": event_types, "url": f"{receiver.url}/hooks/{hook}"}, headers=headers
    )
    assert response.status_code == 201, response.text
    created = response.json()
    receiver.secrets[hook] = created["secret"]
    return {**created, "hook": hook}


async def deliveries(http: httpx.AsyncClient, subscription_id: str) -> dict[str, dict[str, Any]]:
    response = await http.get(f"/api/v1/webhooks/{subscription_id}/deliveries", headers=DEPARTMENT)
    assert response.status_code == 200, response.text
    return {d["event_id"]: d for d in response.json()["items"]}


async def test_deliveries_are_signed_retried_after_a_500_and_kept_in_order_per_aggregate(
    gateway_http: httpx.AsyncClient, receiver: Receiver, nats_url: str
) -> None:
    hook = await subscribe(gateway_http, receiver, ["exemption.*"])
    case, other = f"case-{uuid.uuid4().hex[:6]}", f"case-{uuid.uuid4().hex[:6]}"
    first, second, third = (uuid.uuid4().hex for _ in range(3))
    receiver.fail_once.add(first)
    for event_id, event_type in ((first, OPENED), (second, CONCLUDED), (third, REVIEWED)):
        await publish_event(nats_url, event_type, case, {"n": event_id}, event_id=event_id)
    unrelated = await publish_event(nats_url, OPENED, other, {})
    ignored = await publish_event(nats_url, NOT_SUBSCRIBED, case, {})

    await eventually(lambda: _has(receiver.accepted(hook["hook"]), {first, second, third, unrelated}), timeout=20)

    # The 500 made `first` go again; nothing later of the same case went out before it succeeded.
    assert receiver.arrivals(hook["hook"], case) == [(first, 500), (first, 204), (second, 204), (third, 204)]
    assert ignored not in {r.event_id for r in receiver.log}
    log = await deliveries(gateway_http, hook["id"])
    assert {first, second, third, unrelated} <= set(log)
    assert log[first]["attempts"] == 2 and log[first]["status"] == "delivered" and log[first]["last_status"] == 204
    assert log[second]["attempts"] == 1 and log[second]["next_attempt_at"] is None
    retried = [r for r in receiver.log if r.event_id == first]
    assert retried[0].headers["Kezhuan-Webhook-Timestamp"] != retried[1].headers["Kezhuan-Webhook-Timestamp"]
    assert orjson.loads(retried[1].body)["data"] == {"n": first}


async def test_a_delivery_that_keeps_failing_is_marked_failed_and_then_releases_its_aggregate(
    gateway_http: httpx.AsyncClient, receiver: Receiver, nats_url: str
) -> None:
    hook = await subscribe(gateway_http, receiver, [OPENED, CONCLUDED])
    case = f"case-{uuid.uuid4().hex[:6]}"
    doomed, later = uuid.uuid4().hex, uuid.uuid4().hex
    receiver.fail_always.add(doomed)
    await publish_event(nats_url, OPENED, case, {}, event_id=doomed)
    await publish_event(nats_url, CONCLUDED, case, {}, event_id=later)

    await eventually(lambda: _has(receiver.accepted(hook["hook"]), {later}), timeout=20)

    assert receiver.arrivals(hook["hook"], case) == [(doomed, 500)] * 3 + [(later, 204)]
    failed = (await deliveries(gateway_http, hook["id"]))[doomed]
    assert failed["status"] == "failed" and failed["attempts"] == 3
    assert failed["last_status"] == 500 and "boom" in failed["last_error"] and failed["next_attempt_at"] is None


async def test_a_message_that_is_no_cloudevent_is_dead_lettered_and_the_next_event_still_delivered(
    gateway_http: httpx.AsyncClient, receiver: Receiver, nats_url: str
) -> None:
    hook = await subscribe(gateway_http, receiver, [OPENED])
    garbage = uuid.uuid4().hex
    connection = await nats.connect(nats_url)
    try:
        js = connection.jetstream()
        published = await js.publish(subject_for(OPENED), b"not json at all", headers={"Nats-Msg-Id": garbage})
        after = await publish_event(nats_url, OPENED, f"case-{uuid.uuid4().hex[:6]}", {})
        await eventually(lambda: _has(receiver.accepted(hook["hook"]), {after}), timeout=20)
        await js.delete_msg(STREAM, published.seq)  # other tests read this subject as subscribers do

        async def dead_letter() -> dict[str, Any] | None:
            try:
                raw = await js.get_last_msg(DLQ_STREAM, dead_letter_subject("gateway", "gateway-webhooks"))
            except NotFoundError:
                return None
            letter = orjson.loads(raw.data)
            return letter if letter["event_id"] == garbage else None

        letter = await eventually(dead_letter, timeout=10)
    finally:
        await connection.close()
    assert letter["envelope"] is None and letter["raw"] == "not json at all"
    assert letter["event_type"] == OPENED and letter["reason"].startswith("MalformedEvent: not a CloudEvent")


async def test_replay_from_an_instant_delivers_again_in_order_also_to_a_newer_subscription(
    gateway_http: httpx.AsyncClient, receiver: Receiver, nats_url: str
) -> None:
    hook = await subscribe(gateway_http, receiver, [REVIEWED])
    case = f"case-{uuid.uuid4().hex[:6]}"
    before = await publish_event(nats_url, REVIEWED, case, {})
    await eventually(lambda: _has(receiver.accepted(hook["hook"]), {before}), timeout=20)
    since = real_now()
    after = [await publish_event(nats_url, REVIEWED, case, {"i": i}) for i in range(3)]
    await eventually(lambda: _has(receiver.accepted(hook["hook"]), set(after)), timeout=20)

    response = await gateway_http.post(
        f"/api/v1/webhooks/{hook['id']}/replay", json={"since": since.isoformat()}, headers=DEPARTMENT
    )
    assert response.status_code == 202, response.text
    assert response.json()["enqueued"] == 3
    await eventually(lambda: _true(len(receiver.accepted(hook["hook"])) == 7), timeout=20)
    assert receiver.accepted(hook["hook"]) == [before, *after, *after]

    newer = await subscribe(gateway_http, receiver, ["exemption.review.*"])
    response = await gateway_http.post(
        f"/api/v1/webhooks/{newer['id']}/replay", json={"since": since.isoformat()}, headers=DEPARTMENT
    )
    assert response.json()["enqueued"] == 3
    await eventually(lambda: _true(receiver.accepted(newer["hook"]) == after), timeout=20)


async def test_the_documented_verifier_refuses_forged_stale_and_replayed_deliveries(
    gateway_http: httpx.AsyncClient, receiver: Receiver, nats_url: str
) -> None:
    hook = await subscribe(gateway_http, receiver, [CONCLUDED])
    event_id = await publish_event(nats_url, CONCLUDED, f"case-{uuid.uuid4().hex[:6]}", {})
    await eventually(lambda: _has(receiver.accepted(hook["hook"]), {event_id}), timeout=20)
    captured = next(r for r in receiver.log if r.event_id == event_id and r.hook == hook["hook"])
    secret = receiver.secrets[hook["hook"]]
    headers = httpx.Headers(captured.headers)

    assert not verify_webhook(secret, headers, captured.body, receiver.seen[hook["hook"]]), "the same request sent again"
    assert verify_webhook(secret, headers, captured.body, set()), "authentic and fresh"
    assert not verify_webhook("whsec_wrong", headers, captured.body, set())
    assert not verify_webhook(secret, headers, captured.body.replace(b'"data"', b'"datum"'), set())
    stamped = int(headers["Kezhuan-Webhook-Timestamp"])
    assert not verify_webhook(secret, headers, captured.body, set(), now=stamped + 301), "too old"
    assert verify_webhook(secret, headers, captured.body, set(), now=stamped + 299)
    old = stamped - 3600
    resigned = {**captured.headers, "Kezhuan-Webhook-Timestamp": str(old), "Kezhuan-Webhook-Signature": signature(secret, old, captured.body)}
    assert not verify_webhook(secret, httpx.Headers(resigned), captured.body, set()), "validly signed but stale"


async def test_departments_see_and_manage_only_their_own_subscriptions(
    gateway_http: httpx.AsyncClient, receiver: Receiver
) -> None:
    mine = await subscribe(gateway_http, receiver, ["pricing.*"])
    other_department = auth("department", "dept-finance")
    admin = auth("platform_admin", "admin")
    path = f"/api/v1/webhooks/{mine['id']}"

    assert (await gateway_http.get(path, headers=other_department)).status_code == 404
    assert (await gateway_http.delete(path, headers=other_department)).status_code == 404
    assert (await gateway_http.get(path, headers=auth("researcher", "r1"))).status_code == 403
    assert (await gateway_http.get(path)).status_code == 401
    read = (await gateway_http.get(path, headers=admin)).json()
    assert read["owner"] == "dept-science" and "secret" not in read
    assert mine["id"] in {s["id"] for s in (await gateway_http.get("/api/v1/webhooks", headers=admin)).json()["items"]}
    assert mine["id"] not in {
        s["id"] for s in (await gateway_http.get("/api/v1/webhooks", headers=other_department)).json()["items"]
    }
    refused = await gateway_http.post(
        "/api/v1/webhooks", json={"event_types": ["pricing.deal.concludd"], "url": receiver.url}, headers=DEPARTMENT
    )
    assert refused.status_code == 422 and "pricing.deal.concludd" in refused.json()["detail"]
    assert (await gateway_http.delete(path, headers=DEPARTMENT)).status_code == 204
    assert (await gateway_http.get(path, headers=DEPARTMENT)).status_code == 404


async def test_the_merged_openapi_document_describes_the_webhook_endpoints(gateway_http: httpx.AsyncClient) -> None:
    paths = (await gateway_http.get("/openapi.json")).json()["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/webhooks"])
    assert {"get", "delete"} <= set(paths["/api/v1/webhooks/{subscription_id}"])
    assert "get" in paths["/api/v1/webhooks/{subscription_id}/deliveries"]
    assert "post" in paths["/api/v1/webhooks/{subscription_id}/replay"]


def test_the_readme_shows_the_verifier_the_tests_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert VERIFIER.read_text(encoding="utf-8").strip() in readme
    assert len(VERIFIER.read_text(encoding="utf-8").strip().splitlines()) <= 12


async def _recorded(app: Any, event_id: str) -> bool:
    async with app.webhooks.sessions() as session:
        return await session.scalar(select(WebhookEvent.seq).where(WebhookEvent.event_id == event_id)) is not None


async def _has(found: list[str], wanted: set[str]) -> bool:
    return wanted <= set(found)


async def _true(condition: bool) -> bool:
    return condition
