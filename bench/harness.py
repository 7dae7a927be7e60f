"""Plumbing shared by the scenarios: the system on free ports, bare processes, wrk, a paced load generator."""
from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from kezhuan.embedded_nats import free_port
from kezhuan.launcher import Supervisor
from servicekit.auth import mint_token
from servicekit.settings import DEV_JWT_SECRET

HERE = Path(__file__).resolve().parent
BENCH_ENV = {"KEZHUAN_ENV": "dev", "KEZHUAN_RATE_LIMIT_PER_MINUTE": str(10**9)}
"""Every process the benchmark starts: dev settings, and a per-client rate limit the load cannot reach
(one token sends everything; at 1,000 req/s the gateway's default limit answered 429s)."""


def token(role: str, unit_id: str | None = None, sub: str | None = None) -> str:
    """A dev JWT, as an integrator would send it."""
    return mint_token(DEV_JWT_SECRET, sub=sub or f"bench-{role}", roles=[role], unit_id=unit_id)


def auth(role: str, unit_id: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, unit_id)}"}


def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Poll `url` until it answers (any 2xx)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@dataclass
class System:
    """The whole system (the launcher's Supervisor) on free ports in a temporary data directory."""

    extra_env: dict[str, str] = field(default_factory=dict)
    supervisor: Supervisor | None = None
    started_in: float = 0.0
    start_cpu: dict[str, float] = field(default_factory=dict)
    _tmp: tempfile.TemporaryDirectory | None = None

    def start(self) -> System:
        self._tmp = tempfile.TemporaryDirectory(prefix="kezhuan-bench-")
        self.supervisor = Supervisor(
            data_dir=Path(self._tmp.name), gateway_port=free_port(), extra_env={**BENCH_ENV, **self.extra_env}
        )
        began = time.monotonic()
        self.supervisor.start_all()
        self.supervisor.wait_ready(timeout=90)
        self.started_in = time.monotonic() - began
        self.start_cpu = {name: cpu_seconds(process.pid) for name, process in self.supervisor.processes.items()}
        return self

    @property
    def gateway(self) -> str:
        assert self.supervisor is not None
        return self.supervisor.gateway_url

    def service(self, name: str) -> str:
        assert self.supervisor is not None
        return self.supervisor.service_url(name)

    def database_url(self, name: str) -> str:
        """The service's database: its override, or the launcher's SQLite file in the data dir."""
        assert self.supervisor is not None
        return self.extra_env.get(
            f"KEZHUAN_DATABASE_URL_{name.upper()}", f"sqlite+aiosqlite:///{self.supervisor.data_dir}/{name}.db"
        )

    def pid(self, name: str) -> int:
        assert self.supervisor is not None
        return self.supervisor.processes[name].pid

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop_all()
        if self._tmp is not None:
            self._tmp.cleanup()


class Bare:
    """One uvicorn process serving a bare baseline from bench/bare.py."""

    def __init__(self, target: str, env: dict[str, str] | None = None, ready_path: str = "/docs") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *target.split(), "--host", "127.0.0.1", "--port", str(self.port),
             "--no-access-log", "--log-level", "warning", "--app-dir", str(HERE)],
            env={**os.environ, **(env or {})},
        )
        wait_ready(self.url + ready_path)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class WrkRun:
    """One wrk run: throughput and latency percentiles in milliseconds."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"cannot read wrk's latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, *, seconds: float, connections: int, headers: dict[str, str] | None = None,
        method: str = "GET", body: str | None = None) -> WrkRun:
    """Run wrk once (1 thread; a second would only compete with the servers for the 2 cores)."""
    script = None
    # A 30 s timeout: on a loaded machine a slow answer belongs in the latency figures, not in wrk's errors.
    args = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if method != "GET":
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(f"wrk.method = {lua_string(method)}\nwrk.body = {lua_string(body or '')}\n"
                     'wrk.headers["Content-Type"] = "application/json"\n')
        script.close()
        args += ["-s", script.name]
    try:
        out = subprocess.run([*args, url], check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        if script is not None:
            os.unlink(script.name)
    return parse_wrk(out, url)


def parse_wrk(out: str, url: str = "") -> WrkRun:
    """Throughput and the latency distribution's 50 % and 99 % lines from wrk --latency output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if "Non-2xx" in out or "Socket errors" in out or rps is None:
        raise RuntimeError(f"wrk reported errors for {url}:\n{out}")
    # Anchored: the "+/- Stdev" column (e.g. "62.50%") must not pass for the 50 % line.
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    if p50 is None or p99 is None or total is None:
        raise RuntimeError(f"no latency distribution in wrk's output for {url}:\n{out}")
    return WrkRun(float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), int(total.group(1)))


def lua_string(text: str) -> str:
    """A Lua long string that needs no escaping."""
    level = "=" * 4
    return f"[{level}[{text}]{level}]"


def alternate(sides: dict[str, Any], rounds: int) -> dict[str, list[WrkRun]]:
    """Run every side once per round, A B A B …, so noise from other work lands on all of them."""
    results: dict[str, list[WrkRun]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, run in sides.items():
            results[name].append(run())
    return results


def median(runs: list[WrkRun], attribute: str) -> float:
    return statistics.median(getattr(run, attribute) for run in runs)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reference_workload_ms(runs: int = 5) -> float:
    """Milliseconds a fixed single-threaded pure-Python workload takes here (median of `runs`).

    The hosts these benchmarks land on differ in CPU speed by 2-3×: absolute targets (3's latency at
    a fixed rate, 4's p99, 5's start time) depend on it, ratios much less. Compare hosts by this figure.
    """
    import json as json_module

    document = {"unit_id": "u-1", "ip_rights": [{"number": f"ZL{n}", "granted_on": "2020-05-01"} for n in range(20)]}

    def workload() -> None:
        total = 0
        for n in range(300_000):
            total += n * n % 7
        for _ in range(2_000):
            json_module.loads(json_module.dumps(document))

    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        workload()
        timings.append((time.perf_counter() - began) * 1000)
    return round(sorted(timings)[len(timings) // 2], 1)


def load_average() -> float:
    return os.getloadavg()[0]


async def paced(rate: float, seconds: float, request: Any) -> list[float]:
    """Open-loop load: start `request(i)` every 1/rate s regardless of answers; returns each call's seconds."""
    began = time.monotonic()
    durations: list[float] = []

    async def one(i: int) -> None:
        start = time.monotonic()
        await request(i)
        durations.append(time.monotonic() - start)

    tasks = []
    for i in range(int(rate * seconds)):
        delay = began + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return durations


def client_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=60))
