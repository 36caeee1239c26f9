"""`streams phase show | set` on the real Kafka, each test on a phase topic of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from streams.config import Settings
from streams.kafka.reader import read_to_end

pytestmark = pytest.mark.stack


@pytest.fixture
def topic(cdc_stack: Settings) -> str:
    return f"test.phase.{uuid.uuid4().hex[:8]}"


def _streams(topic: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STREAMS_PHASE_TOPIC": topic}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "--log-level", "WARNING", "phase", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_show_on_an_empty_topic_is_the_default_and_what_it_does(topic: str) -> None:
    shown = _streams(topic, "show")

    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"phase: dual-write (the default: {topic} holds no phase record; "
        "if a phase was set, check STREAMS_PHASE_TOPIC)",
        "legacy -> Ditto: row changes become twin commands",
        "Ditto -> legacy: twin edits are written to rows",
        "conflict: legacy wins",
        "next: ditto-primary; rollback: legacy-primary",
    ]


def test_set_moves_one_step_and_show_reads_it_back(cdc_stack: Settings, topic: str) -> None:
    done = _streams(topic, "set", "ditto-primary", "--by", "ops@test", "--reason", "go")

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("phase: dual-write -> ditto-primary, set ")
    shown = json.loads(_streams(topic, "show", "--json").stdout)
    assert {k: shown[k] for k in ("phase", "previous", "set_by", "reason", "forced")} == {
        "phase": "ditto-primary",
        "previous": "dual-write",
        "set_by": "ops@test",
        "reason": "go",
        "forced": False,
    }
    [record] = list(read_to_end(cdc_stack.kafka_bootstrap, topic))
    assert record.key == b"phase"


def test_a_jump_is_refused_naming_the_steps_and_writes_nothing(
    cdc_stack: Settings, topic: str
) -> None:
    refused = _streams(topic, "set", "cutover")

    assert refused.returncode == 2
    assert "from dual-write go to ditto-primary or legacy-primary" in refused.stderr
    assert "--force" in refused.stderr
    assert list(read_to_end(cdc_stack.kafka_bootstrap, topic)) == []


def test_force_allows_a_jump_and_the_record_says_so(topic: str) -> None:
    done = _streams(topic, "set", "cutover", "--force")

    assert done.returncode == 0, done.stderr
    assert "(forced)" in done.stdout
    shown = _streams(topic, "show").stdout.splitlines()
    assert shown[0].endswith("previous dual-write, forced)")
    assert "legacy -> Ditto: held: each change is a dead letter (stage phase)" in shown
