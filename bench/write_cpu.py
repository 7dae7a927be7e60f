"""CPU per achievement write in every process, under wrk: straight at ownership and through the gateway.

`.venv/bin/python bench/write_cpu.py [rounds]` — the system as `make run` starts it (on free ports),
wrk with 16 connections for 5 s per round; CPU from /proc, divided by the requests served. Used to
find what bounds scenario 2 (bench/README.md); it reports and asserts nothing.
"""
from __future__ import annotations

import json
import sys
import time

from harness import System, auth, cpu_seconds, wrk
from scenarios import achievement_body, create_unit

PROCESSES = ("gateway", "ownership", "pricing", "exemption", "finance")


def main(rounds: int) -> None:
    system = System().start()
    try:
        unit = create_unit(system.gateway)
        headers = auth("unit_admin", unit)
        body = json.dumps(achievement_body(unit), ensure_ascii=False)
        for _ in range(rounds):
            for side, base in (("direct", system.service("ownership")), ("gateway", system.gateway)):
                before = {name: cpu_seconds(system.pid(name)) for name in PROCESSES}
                run = wrk(base + "/api/v1/achievements", seconds=5, connections=16, headers=headers, method="POST", body=body)
                time.sleep(1.0)  # the relay, the sealer and the consumers finish this round's events
                writes = run.rps * 5
                cpu = {name: (cpu_seconds(system.pid(name)) - before[name]) * 1000 / writes for name in PROCESSES}
                print(f"{side:8} {run.rps:6.0f} req/s  p99 {run.p99_ms:6.1f} ms  CPU ms/write: "
                      + "  ".join(f"{name} {ms:.2f}" for name, ms in cpu.items()), flush=True)
    finally:
        system.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
