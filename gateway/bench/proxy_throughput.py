"""Gateway throughput against calling the service directly (target: ≥ 0.60× at 64 connections).

Run: `.venv/bin/python gateway/bench/proxy_throughput.py [--seconds 10] [--connections 64]`.
Needs `wrk` (Debian package `wrk`). Starts a bare FastAPI read as every service and the gateway
in front of it, each as one uvicorn worker (uvloop, httptools), on loopback only; every run is
bounded by --seconds and everything started is stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from fastapi import FastAPI

HERE = Path(__file__).resolve().parent

stub_app = FastAPI()


@stub_app.get("/api/v1/units/{unit_id}")
async def get_unit(unit_id: str) -> dict[str, object]:
    """A small JSON read, like a service answering from memory."""
    return {
        "id": unit_id,
        "name": "Dalian Institute",
        "type": "research_institute",
        "policy": {"notice_days": 15, "review_request_days": 15, "patent_change_days": 90},
        "version": 1,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _uvicorn(target: str, port: int, env: dict[str, str], cpu: str | None, *extra: str) -> subprocess.Popen[bytes]:
    pin = ["taskset", "-c", cpu] if cpu is not None else []
    return subprocess.Popen(
        [*pin, sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", *extra],
        env=env,
    )


def _wrk(url: str, seconds: int, connections: int, threads: int) -> float:
    """Requests per second reported by wrk."""
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if "Non-2xx" in out or "Socket errors" in out or match is None:
        raise RuntimeError(f"wrk reported errors:\n{out}")
    latency = re.search(r"99%\s+(\S+)", out)
    print(f"  {url}: {match.group(1)} req/s, p99 {latency.group(1) if latency else '?'}")
    return float(match.group(1))


def main() -> None:
    """Measure direct and gateway throughput and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating direct/gateway runs; medians compared")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin the service to CPU 1 and the gateway to CPU 0 (taskset): without it the scheduler "
        "sometimes puts both on one core, which halves the gateway's numbers from run to run",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")

    service_port, gateway_port = _free_port(), _free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    env = {**os.environ, "KEZHUAN_ENV": "dev"}
    env.update({f"KEZHUAN_{name.upper()}_URL": service_url for name in ("ownership", "pricing", "exemption", "finance")})
    processes = [
        _uvicorn("proxy_throughput:stub_app", service_port, env, "1" if args.pin else None, "--app-dir", str(HERE)),
        _uvicorn("gateway.app:create_app", gateway_port, env, "0" if args.pin else None, "--factory"),
    ]
    try:
        path = "/api/v1/units/u1"
        _wait_ready(service_url + path)
        _wait_ready(f"http://127.0.0.1:{gateway_port}{path}")
        # A short warm-up of each, so neither pays for first-request imports or pool growth.
        _wrk(service_url + path, 2, args.connections, args.threads)
        _wrk(f"http://127.0.0.1:{gateway_port}{path}", 2, args.connections, args.threads)
        print(f"measuring {args.rounds} × {args.seconds}s at {args.connections} connections:")
        # Alternating runs spread any noise from other work on the machine over both sides.
        direct, through = [], []
        for _ in range(args.rounds):
            direct.append(_wrk(service_url + path, args.seconds, args.connections, args.threads))
            through.append(_wrk(f"http://127.0.0.1:{gateway_port}{path}", args.seconds, args.connections, args.threads))
        ratio = statistics.median(through) / statistics.median(direct)
        print(f"median direct {statistics.median(direct):.0f} req/s, via gateway {statistics.median(through):.0f} req/s")
        print(f"gateway / direct = {ratio:.2f} (target ≥ 0.60)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
