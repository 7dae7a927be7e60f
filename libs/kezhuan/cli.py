"""`kezhuan`: the operator's command line — run, load demo data, watch events, outbox and dead letters."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from servicekit.settings import DEV_JWT_SECRET, SERVICES


class CliError(Exception):
    """A failure the user can act on; printed without a traceback."""


def gateway_url(args: argparse.Namespace) -> str:
    """--gateway, else KEZHUAN_GATEWAY_URL, else 127.0.0.1 at KEZHUAN_GATEWAY_PORT (8000)."""
    if getattr(args, "gateway", None):
        return args.gateway.rstrip("/")
    if os.environ.get("KEZHUAN_GATEWAY_URL"):
        return os.environ["KEZHUAN_GATEWAY_URL"].rstrip("/")
    return f"http://127.0.0.1:{os.environ.get('KEZHUAN_GATEWAY_PORT', '8000')}"


def mint_dev_token(role: str, unit_id: str | None = None, sub: str | None = None, minutes: int = 60) -> str:
    """A token signed with KEZHUAN_JWT_SECRET (or the dev default); refused in production."""
    from servicekit.auth import mint_token

    if os.environ.get("KEZHUAN_ENV", "dev") == "production":
        raise CliError("refusing to mint tokens when KEZHUAN_ENV=production; use your identity provider")
    secret = os.environ.get("KEZHUAN_JWT_SECRET", DEV_JWT_SECRET)
    return mint_token(secret, sub=sub or f"cli-{role}", roles=[role], unit_id=unit_id, ttl=timedelta(minutes=minutes))


def admin_headers() -> dict[str, str]:
    """KEZHUAN_TOKEN when set (production), else a dev platform_admin token."""
    token = os.environ.get("KEZHUAN_TOKEN") or mint_dev_token("platform_admin", sub="kezhuan-cli")
    return {"Authorization": f"Bearer {token}"}


def call(args: argparse.Namespace, method: str, path: str, **params: Any) -> Any:
    """One admin request through the gateway; a readable CliError for every failure."""
    url = gateway_url(args)
    try:
        response = httpx.request(method, url + path, params=params, headers=admin_headers(), timeout=15)
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach the gateway at {url} ({exc}); is the system running (`kezhuan up`)?") from exc
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail") or response.text
        except ValueError:
            detail = response.text
        raise CliError(f"{method} {path} answered {response.status_code}: {detail}")
    return response.json()


def emit(payload: Any) -> None:
    print(json.dumps(payload, ensure_ascii=False, indent=2))


def cmd_up(args: argparse.Namespace) -> int:
    from kezhuan.launcher import main as launch

    return launch()


def cmd_demo(args: argparse.Namespace) -> int:
    from kezhuan.demo import load_demo, print_summary

    summary = load_demo(gateway_url(args))
    print_summary(summary, gateway_url(args))
    return 0


def cmd_token_mint(args: argparse.Namespace) -> int:
    print(mint_dev_token(args.role, args.unit, args.sub, args.minutes))
    return 0


def _services(args: argparse.Namespace) -> list[str]:
    return [args.service] if args.service else list(SERVICES)


def cmd_outbox_status(args: argparse.Namespace) -> int:
    rows = [call(args, "GET", "/api/v1/outbox", service=service) for service in _services(args)]
    if args.json:
        emit(rows)
        return 0
    print(f"{'service':<10} {'pending':>8} {'oldest (s)':>11} {'nats':>5} {'dead letters':>13}")
    for row in rows:
        dead = "?" if row["dead_letters"] is None else row["dead_letters"]
        print(
            f"{row['service']:<10} {row['pending']:>8} {row['oldest_age_seconds']:>11.1f} "
            f"{'up' if row['nats_connected'] else 'DOWN':>5} {dead:>13}"
        )
    return 0


def cmd_dlq_list(args: argparse.Namespace) -> int:
    items: list[dict[str, Any]] = []
    for service in _services(args):
        items.extend(call(args, "GET", "/api/v1/dead-letters", service=service, limit=200)["items"])
    if args.json:
        emit(items)
        return 0
    if not items:
        print("no dead letters")
        return 0
    for item in items:
        print(
            f"{item['id']:>6}  {item['service']:<10} {item['consumer']:<32} {item['event_type']:<36} "
            f"x{item['deliveries']}  {item['reason'][:80]}"
        )
    return 0


def cmd_dlq_show(args: argparse.Namespace) -> int:
    emit(call(args, "GET", f"/api/v1/dead-letters/{args.id}", service=args.service))
    return 0


def cmd_dlq_redrive(args: argparse.Namespace) -> int:
    result = call(args, "POST", f"/api/v1/dead-letters/{args.id}/redrive", service=args.service)
    state = "applied" if result["applied"] else "already applied before (nothing done again)"
    print(f"dead letter {result['id']} redriven through {result['consumer']}: {state}")
    return 0


def _nats_url(args: argparse.Namespace) -> str:
    """--nats, else KEZHUAN_NATS_URL, else the embedded server `make run` started in the data dir."""
    if args.nats:
        return args.nats
    if os.environ.get("KEZHUAN_NATS_URL"):
        return os.environ["KEZHUAN_NATS_URL"]
    ports = sorted((Path(os.environ.get("KEZHUAN_DATA_DIR", "var")) / "nats" / "ports").glob("*.ports"))
    if ports:
        return json.loads(ports[-1].read_text())["nats"][0]
    raise CliError("no NATS URL: pass --nats, set KEZHUAN_NATS_URL, or start the system with `kezhuan up`")


async def _tail(url: str, subject: str, from_start: bool, limit: int | None) -> None:
    import nats
    from nats.js.api import DeliverPolicy

    from contracts.envelope import STREAM

    try:
        connection = await asyncio.wait_for(
            nats.connect(url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=0), timeout=5
        )
    except Exception as exc:
        raise CliError(f"cannot connect to NATS at {url} ({exc})") from exc
    try:
        js = connection.jetstream()
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        subscription = await js.subscribe(subject, stream=STREAM, ordered_consumer=True, deliver_policy=policy)
        seen = 0
        async for message in subscription.messages:
            event = json.loads(message.data)
            print(json.dumps(event, ensure_ascii=False), flush=True)
            seen += 1
            if limit is not None and seen >= limit:
                return
    finally:
        await connection.close()


def cmd_events_tail(args: argparse.Namespace) -> int:
    subject = f"kezhuan.{args.type}" if args.type else "kezhuan.>"
    try:
        asyncio.run(_tail(_nats_url(args), subject, args.from_start, args.count))
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse tree (also used by tests)."""
    parser = argparse.ArgumentParser(prog="kezhuan", description="Operate Kezhuan (科转) from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def gateway_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--gateway", help="gateway URL (default: KEZHUAN_GATEWAY_URL or http://127.0.0.1:$KEZHUAN_GATEWAY_PORT)")

    up = commands.add_parser("up", help="start NATS, the four services and the gateway (same as `make run`)")
    up.set_defaults(run=cmd_up)

    demo = commands.add_parser("demo", help="load the Liaoning demo dataset into a running system (idempotent)")
    gateway_option(demo)
    demo.set_defaults(run=cmd_demo)

    events = commands.add_parser("events", help="watch events on the KEZHUAN stream")
    events_commands = events.add_subparsers(dest="events_command", required=True, metavar="SUBCOMMAND")
    tail = events_commands.add_parser("tail", help="print events as JSON lines as they are published")
    tail.add_argument("--type", help="event type or pattern, e.g. pricing.deal.concluded or 'pricing.>'")
    tail.add_argument("--nats", help="NATS URL (default: KEZHUAN_NATS_URL or the embedded server of `kezhuan up`)")
    tail.add_argument("--from-start", action="store_true", help="replay the stream from its first event")
    tail.add_argument("--count", type=int, help="stop after this many events")
    tail.set_defaults(run=cmd_events_tail)

    outbox = commands.add_parser("outbox", help="the services' transactional outboxes")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="SUBCOMMAND")
    status = outbox_commands.add_parser("status", help="per service: pending rows, age of the oldest, dead letters")
    status.add_argument("--service", choices=SERVICES, help="one service (default: all)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    gateway_option(status)
    status.set_defaults(run=cmd_outbox_status)

    dlq = commands.add_parser("dlq", help="dead letters: events a consumer failed on KEZHUAN_MAX_DELIVER times")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True, metavar="SUBCOMMAND")
    dlq_list = dlq_commands.add_parser("list", help="list dead letters")
    dlq_list.add_argument("--service", choices=SERVICES, help="one service (default: all)")
    dlq_list.add_argument("--json", action="store_true", help="machine-readable output")
    gateway_option(dlq_list)
    dlq_list.set_defaults(run=cmd_dlq_list)
    for name, handler, text in (
        ("show", cmd_dlq_show, "show one dead letter with its reason and the original event"),
        ("redrive", cmd_dlq_redrive, "apply the event again through its consumer (exactly once), then delete it"),
    ):
        sub = dlq_commands.add_parser(name, help=text)
        sub.add_argument("id", type=int, help="the dead letter's id (from `kezhuan dlq list`)")
        sub.add_argument("--service", required=True, choices=SERVICES, help="the service whose consumer failed")
        gateway_option(sub)
        sub.set_defaults(run=handler)

    token = commands.add_parser("token", help="development tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="SUBCOMMAND")
    mint = token_commands.add_parser("mint", help="print a signed JWT (dev/test only; refused when KEZHUAN_ENV=production)")
    mint.add_argument("--role", required=True, help="e.g. platform_admin, unit_admin, researcher, enterprise")
    mint.add_argument("--unit", help="unit id, for unit-scoped roles")
    mint.add_argument("--sub", help="subject (person id); default cli-<role>")
    mint.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    mint.set_defaults(run=cmd_token_mint)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `kezhuan` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except CliError as exc:
        print(f"kezhuan: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
