"""Ports for the processes the launcher starts: never ones an outgoing connection can be given meanwhile."""
from __future__ import annotations

import socket

import pytest

from kezhuan import embedded_nats
from kezhuan.embedded_nats import _ephemeral_floor, free_port


def test_free_ports_lie_below_the_ephemeral_range_and_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]

    assert len(set(ports)) == len(ports)
    assert all(1024 <= port < _ephemeral_floor() for port in ports)


def test_a_port_a_listener_holds_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        monkeypatch.setattr(embedded_nats, "LISTENER_PORTS", range(taken, taken + 2))
        monkeypatch.setattr(embedded_nats, "_ephemeral_floor", lambda: 65536)
        monkeypatch.setattr(embedded_nats, "_handed_out", set())
        held.listen()

        assert embedded_nats.free_port() == taken + 1
