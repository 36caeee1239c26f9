"""Part selection and `down`'s report, on a stack folder of the test's own (no real stack)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config import Settings
from streams.errors import StackError
from streams.stack import orchestrator, postgres
from streams.stack._process import ServiceProcess


def test_an_unknown_part_is_named_with_the_valid_ones() -> None:
    with pytest.raises(StackError, match="unknown part bogus: --only takes postgres, kafka"):
        orchestrator.selected(("kafka", "bogus"))


def test_parts_keep_their_start_order() -> None:
    assert orchestrator.selected(("ditto", "postgres")) == ("postgres", "ditto")


def test_down_with_nothing_running_stops_nothing(tmp_path: Path) -> None:
    settings = Settings.model_validate({"stack_dir": tmp_path})
    assert orchestrator.down(settings) == []


def test_down_names_the_parts_it_stopped(tmp_path: Path) -> None:
    settings = Settings.model_validate({"stack_dir": tmp_path})
    [server] = postgres.processes(settings)
    # A process of our own under the part's pid file stands for a running server.
    ServiceProcess(server.name, ["sleep", "600"], server.run_dir).start()

    assert orchestrator.down(settings) == ["postgres"]
    assert not server.running()


@pytest.mark.parametrize(("lines", "tail"), [(0, ""), (2, "b\nc"), (9, "a\nb\nc")])
def test_log_tail_prints_the_last_n_lines_and_none_for_0(
    tmp_path: Path, lines: int, tail: str
) -> None:
    proc = ServiceProcess("some", ["true"], tmp_path)
    proc.log_file.write_text("a\nb\nc\n")
    assert proc.log_tail(lines) == tail
