"""The `streams` command line: what a user sees for bad input, without the stack."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from streams.cli import app
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
