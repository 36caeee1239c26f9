"""The `streams` command line: what a user sees for bad input, without the stack."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli import app, main
from streams.config import get_settings
from tests.ops.test_map_dry_run import ROW


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_map_reports_a_line_not_utf8_goes_on_and_exits_1() -> None:
    lines = [json.dumps(ROW).encode().replace(b"MOR-001", b"MOR-\xff01"), json.dumps(ROW).encode()]

    result = CliRunner().invoke(app, ["map", "--table", "wells"], input=b"\n".join(lines))

    assert result.exit_code == 1, result.output
    [error, command] = [json.loads(line) for line in result.stdout.splitlines()]
    assert error["line"] == 1 and "not UTF-8" in error["message"]
    assert command["topic"].endswith("/modify")


def test_map_exits_0_when_every_line_mapped() -> None:
    result = CliRunner().invoke(app, ["map", "--table", "wells"], input=json.dumps(ROW))

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["topic"].endswith("/modify")


def test_map_help_lists_the_known_tables_and_the_exit_code() -> None:
    result = CliRunner().invoke(app, ["map", "--help"], terminal_width=200)

    assert result.exit_code == 0
    assert "Known tables" in result.stdout and "basins, wells" in result.stdout
    assert "Exit 1 when any line" in result.stdout


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    """`streams ARGS` as the console script runs it; returns stderr after exit code 2."""
    monkeypatch.setattr(sys, "argv", ["streams", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert "Traceback" not in err
    return err


def test_a_bad_setting_names_its_variable_one_line_each(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STREAMS_PG_PORT", "abc")
    monkeypatch.setenv("STREAMS_WORKER_WEB_PORT", "0")
    monkeypatch.setenv("STREAMS_PG_PASSWORD", "{not-shown}")

    err = run_main(monkeypatch, capsys, "map", "--table", "wells")

    [port] = [line for line in err.splitlines() if "STREAMS_PG_PORT" in line]
    assert "valid integer" in port and "'abc'" in port
    assert any("STREAMS_WORKER_WEB_PORT" in line for line in err.splitlines())
    assert "not-shown" not in err


def test_a_bogus_log_level_names_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = run_main(monkeypatch, capsys, "--log-level", "bogus", "map", "--help")

    assert all(level in err for level in ("debug", "info", "warning", "error", "critical"))


def test_malformed_toml_names_file_and_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "streams.toml"
    config.write_text('pg_port = 5\nkafka_bootstrap = "127.0.0.1:9092\ntopic_prefix = "x"\n')
    monkeypatch.setenv("STREAMS_CONFIG_FILE", str(config))

    err = run_main(monkeypatch, capsys, "map", "--table", "wells")

    assert str(config) in err and "line 2" in err


def test_an_unknown_key_in_the_config_file_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "streams.toml"
    config.write_text("pg_port = 5\npg_prot = 6\n")
    monkeypatch.setenv("STREAMS_CONFIG_FILE", str(config))

    err = run_main(monkeypatch, capsys, "map", "--table", "wells")

    assert "unknown key 'pg_prot'" in err and str(config) in err


def test_a_missing_config_file_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("STREAMS_CONFIG_FILE", str(tmp_path / "absent.toml"))

    err = run_main(monkeypatch, capsys, "map", "--table", "wells")

    assert "absent.toml" in err and "no such file" in err


def test_a_second_worker_on_a_busy_port_says_how_to_move_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("STREAMS_WORKER_WEB_PORT", str(port))

        err = run_main(monkeypatch, capsys, "worker")

    assert f"port {port} in use: pass --port or set STREAMS_WORKER_WEB_PORT" in err


def test_an_unknown_stack_part_names_the_valid_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = run_main(monkeypatch, capsys, "stack", "logs", "--only", "bogus")

    assert "unknown part bogus: --only takes postgres, kafka, connect, models, ditto" in err


def test_stack_logs_refuses_a_negative_line_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = run_main(monkeypatch, capsys, "stack", "logs", "-n", "-1")

    assert "greater than or equal to 0" in err


def test_stack_logs_prints_nothing_for_0() -> None:
    result = CliRunner().invoke(app, ["stack", "logs", "-n", "0"])

    assert result.exit_code == 0 and result.stdout == ""
