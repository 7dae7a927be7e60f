"""Scenario 1's direct side for two checkouts: GET one achievement straight to ownership, A B A B.

    git worktree add --detach /tmp/old 3f01fbc
    .venv/bin/python bench/compare_read.py /tmp/old --rounds 4 --seconds 8

With `--writers N`, N connections POST achievements to the same ownership meanwhile (a mixed load:
reads then compete with writes for the database). Both systems run at once (an idle one costs ≈ 1 % of a core per process); the old side runs this
checkout's interpreter and packages with the old sources first on PYTHONPATH. Prints per side the
median req/s, p50 and p99 over the rounds, each round's req/s, and the load average before/after.
"""
from __future__ import annotations

import argparse
import json
import os
import threading
from pathlib import Path
from typing import Any

import httpx
from harness import System, alternate, auth, wrk
from scenarios import _summary, achievement_body, create_unit

SOURCES = ["libs", "services/ownership", "services/pricing", "services/exemption", "services/finance", "gateway"]


def _achievement_url(system: System) -> tuple[str, dict[str, str], str]:
    unit_id = create_unit(system.gateway)
    headers = auth("unit_admin", unit_id)
    created = httpx.post(f"{system.gateway}/api/v1/achievements", json=achievement_body(unit_id), headers=headers, timeout=30)
    created.raise_for_status()
    return system.service("ownership") + f"/api/v1/achievements/{created.json()['id']}", headers, unit_id


def main() -> None:
    """Run both sides and print their figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="a checkout of the commit to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--writers", type=int, default=0, help="connections writing meanwhile (0: reads only)")
    args = parser.parse_args()
    old_path = ":".join(str(args.old.resolve() / source) for source in SOURCES)
    systems = {"old": System(extra_env={"PYTHONPATH": old_path}).start(), "new": System().start()}
    try:
        targets = {name: _achievement_url(system) for name, system in systems.items()}

        def side(url: str, headers: dict[str, str], unit_id: str) -> Any:
            def read() -> Any:
                writing = None
                if args.writers:
                    body = json.dumps(achievement_body(unit_id), ensure_ascii=False)
                    target = url.rsplit("/", 1)[0]

                    def write() -> None:
                        writes.setdefault(url, []).append(wrk(target, seconds=args.seconds, connections=args.writers,
                                                              headers=headers, method="POST", body=body).rps)

                    writing = threading.Thread(target=write)
                    writing.start()
                try:
                    return wrk(url, seconds=args.seconds, connections=args.connections, headers=headers)
                finally:
                    if writing is not None:
                        writing.join()
            return read

        writes: dict[str, list[float]] = {}
        sides = {name: side(*target) for name, target in targets.items()}
        load_before = os.getloadavg()
        alternate(sides, 1)  # warm-up: first-request imports, pool growth
        figures = _summary(alternate(sides, args.rounds))
        load_after = os.getloadavg()
    finally:
        for system in systems.values():
            system.stop()
    print(json.dumps({
        "load_average_before": load_before,
        "load_average_after": load_after,
        **{name: {"median_rps": f["median_rps"], "median_p50_ms": f["median_p50_ms"], "median_p99_ms": f["median_p99_ms"],
                  "rps_per_round": [r["rps"] for r in f["rounds"]],
                  "write_rps_per_round": writes.get(targets[name][0], [])[1:]} for name, f in figures.items()},
    }, indent=1))


if __name__ == "__main__":
    main()
