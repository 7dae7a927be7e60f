"""`make run`: NATS (unless KEZHUAN_NATS_URL is set), the four services and the gateway, as processes.

Also the supervisor the end-to-end and reliability tests use to kill and restart single services.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kezhuan.embedded_nats import EmbeddedNats, free_port
from servicekit.settings import SERVICES

GATEWAY = "gateway"


def _die_with_parent() -> None:
    """Linux: a child gets SIGTERM if the launcher itself is killed, so nothing is orphaned."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Supervisor:
    """Starts, kills and restarts the system's processes on free ports."""

    data_dir: Path
    gateway_port: int = 8000
    nats_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    log_dir: Path = field(init=False)
    """`<data_dir>/logs`: one `<process>.log` each."""
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    nats: EmbeddedNats | None = None

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        self.log_dir = self.data_dir / "logs"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def env(self) -> dict[str, str]:
        """The environment every child gets."""
        env = dict(os.environ)
        env.update(self.extra_env)
        env["KEZHUAN_DATA_DIR"] = str(self.data_dir)
        env["KEZHUAN_NATS_URL"] = self.nats_url or ""
        env.setdefault("KEZHUAN_ENV", "dev")
        for name in SERVICES:
            env[f"KEZHUAN_{name.upper()}_URL"] = self.service_url(name)
        return env

    def start_nats(self) -> None:
        if self.nats_url:
            return
        self.nats = EmbeddedNats(self.data_dir / "nats")
        self.nats_url = self.nats.start()

    def start(self, name: str) -> None:
        """Start (or restart) one process on its port."""
        port = self.ports.setdefault(name, self.gateway_port if name == GATEWAY else free_port())
        self._spawn(name, "gateway" if name == GATEWAY else name, port)

    def start_replica(self, name: str) -> str:
        """Start a second process of a service on its own port, sharing its database and NATS; returns its key."""
        key = f"{name}-replica"
        self._spawn(key, name, self.ports.setdefault(key, free_port()))
        return key

    def replica_url(self, key: str) -> str:
        return f"http://127.0.0.1:{self.ports[key]}"

    def _spawn(self, key: str, app: str, port: int) -> None:
        module = f"{app}.app:create_app"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{key}.log", "ab")
        self.processes[key] = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", module, "--factory",
                "--host", "127.0.0.1", "--port", str(port),
                "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "5",
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def start_all(self) -> None:
        """NATS first (if embedded), then services and gateway; services retry their connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_nats()
        for name in SERVICES:
            self.ports.setdefault(name, free_port())
        for name in (*SERVICES, GATEWAY):
            self.start(name)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send a signal to one process and reap it."""
        process = self.processes.get(name)
        if process and process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout=15)

    def wait_ready(self, url: str | None = None, timeout: float = 60.0) -> None:
        """Poll `/readyz` until 200."""
        target = (url or self.gateway_url) + "/readyz"
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}; {self.log_dir}/{name}.log ends:\n{self.log_tail(name)}"
                    )
            try:
                with urllib.request.urlopen(target, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.1)
        raise TimeoutError(f"{target} not ready after {timeout} s ({last})")

    def log_tail(self, name: str, lines: int = 40) -> str:
        """The last lines of a process's log: why it stopped, without the log directory at hand."""
        try:
            return "\n".join((self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(log unreadable: {exc})"

    def stop_all(self) -> None:
        """SIGTERM everything, then SIGKILL what lingers; NATS last."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.nats:
            self.nats.stop()


def main() -> int:
    """Run the whole system until Ctrl-C or SIGTERM."""
    data_dir = Path(os.environ.get("KEZHUAN_DATA_DIR", "var"))
    supervisor = Supervisor(
        data_dir=data_dir,
        gateway_port=int(os.environ.get("KEZHUAN_GATEWAY_PORT", "8000")),
        nats_url=os.environ.get("KEZHUAN_NATS_URL") or None,
    )
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    try:
        supervisor.start_all()
        supervisor.wait_ready()
        print(f"Kezhuan is ready in {time.monotonic() - started:.1f} s")
        print(f"  API        {supervisor.gateway_url}/api/v1")
        print(f"  API docs   {supervisor.gateway_url}/docs  (OpenAPI: /openapi.json, events: /asyncapi.json)")
        print(f"  health     {supervisor.gateway_url}/readyz   metrics: /metrics")
        print(f"  NATS       {supervisor.nats_url}")
        print(f"  data       {supervisor.data_dir}   logs: {supervisor.log_dir}")
        print("Press Ctrl-C to stop.", flush=True)
        while not stopping:
            for name, process in supervisor.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; restarting (log: {supervisor.log_dir}/{name}.log)")
                    supervisor.start(name)
            time.sleep(0.5)
    except Exception as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.stop_all()
        print("stopped every process.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
