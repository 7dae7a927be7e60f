"""The `kezhuan` CLI without a running system: help, tokens, and clear errors."""
from __future__ import annotations

import pytest

from kezhuan.cli import main
from kezhuan.embedded_nats import free_port
from servicekit.auth import decode_token
from servicekit.settings import DEV_JWT_SECRET


@pytest.mark.parametrize("argv", [[], ["dlq"], ["events"], ["outbox"], ["token"], ["token", "mint"]])
def test_incomplete_commands_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "usage: kezhuan" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["dlq", "redrive", "--help"], ["events", "tail", "--help"], ["token", "mint", "--help"]])
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0
    assert "usage: kezhuan" in capsys.readouterr().out


def test_token_mint_prints_a_token_with_the_role_and_unit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("KEZHUAN_JWT_SECRET", raising=False)
    monkeypatch.setenv("KEZHUAN_ENV", "dev")
    assert main(["token", "mint", "--role", "unit_admin", "--unit", "u-42"]) == 0
    principal = decode_token(capsys.readouterr().out.strip(), DEV_JWT_SECRET)
    assert principal.roles == frozenset({"unit_admin"}) and principal.unit_id == "u-42"


def test_token_mint_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEZHUAN_ENV", "production")
    assert main(["token", "mint", "--role", "platform_admin"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "KEZHUAN_ENV=production" in captured.err


def test_commands_name_the_unreachable_gateway(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KEZHUAN_ENV", "dev")
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["outbox", "status", "--gateway", url]) == 1
    assert f"cannot reach the gateway at {url}" in capsys.readouterr().err


def test_events_tail_names_the_unreachable_nats(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    assert main(["events", "tail", "--nats", url, "--count", "1"]) == 1
    assert f"cannot connect to NATS at {url}" in capsys.readouterr().err


def test_unknown_service_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["dlq", "show", "1", "--service", "billing"])
    assert "invalid choice: 'billing'" in capsys.readouterr().err
