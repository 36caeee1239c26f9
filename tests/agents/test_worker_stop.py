"""A worker's stop is bounded: with Kafka gone, SIGTERM ends it within
STREAMS_WORKER_STOP_TIMEOUT, exit 1, and a log line saying what is not committed.

Kafka must go away under a running worker, and the shared broker is never stopped: the
test starts a Kafka of its own on free loopback ports (streams.stack.kafka, its own stack
folder; the shared stack's resolved class path is copied, so Maven does not run).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from faust.types import TP

from streams.agents.stop import EXIT_NOT_COMMITTED, describe, uncommitted
from streams.config import Settings
from streams.errors import KafkaUnavailableError
from streams.kafka.admin import ensure_topics
from streams.kafka.lag import read_group
from streams.kafka.topics import TopicSpec, cdc_topic
from streams.ops.worker_process import WorkerProcess, free_port
from streams.stack import kafka
from tests._own_worker import as_env, own_topics

STOP_TIMEOUT = 3
PARTITIONS = 2


def test_uncommitted_names_each_partition_read_past_its_commit() -> None:
    a, b, c, d = (TP("wells", 0), TP("wells", 1), TP("x", 0), TP("y", 0))
    consumer = SimpleNamespace(
        _read_offset={a: 43, b: 9, c: 7, d: None},
        _acked={a: [41, 42], c: [], d: []},
        _committed_offset={a: 41, b: 10},
    )

    pending = uncommitted(consumer)

    assert pending == {"wells[0]": (41, 43), "x[0]": (None, 7)}
    assert describe(pending) == "wells[0]@41..43, x[0]@start..7"
    assert describe({}) == "every record read is committed"


def test_a_partition_only_seeked_to_its_commit_is_not_reported() -> None:
    """After a seek Faust's read offset is the committed one, the next to read."""
    seeked, acked_there = TP("basins", 0), TP("basins", 1)
    consumer = SimpleNamespace(
        _read_offset={seeked: 292, acked_there: 50},
        _acked={acked_there: [50]},
        _committed_offset={seeked: 292, acked_there: 50},
    )

    assert uncommitted(consumer) == {"basins[1]": (50, 50)}


_STUCK = """
import logging, sys, time
from types import SimpleNamespace
from faust.types import TP
from streams import logs
from streams.agents.stop import StopWatch
logs.setup()
tp = TP("legacy.public.wells", 3)
consumer = SimpleNamespace(_read_offset={tp: 12}, _acked={}, _committed_offset={tp: 10})
StopWatch(SimpleNamespace(consumer=consumer), 0.5, "127.0.0.1:1").arm()
time.sleep(60)  # a stop that never ends
"""


def test_a_stop_past_its_timeout_logs_what_is_not_committed_and_exits_1() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _STUCK], capture_output=True, text=True, timeout=30, check=False
    )

    assert done.returncode == EXIT_NOT_COMMITTED, done.stderr
    [line] = [line for line in done.stderr.splitlines() if "level=ERROR" in line]
    assert "stop timed out after 0.5s (STREAMS_WORKER_STOP_TIMEOUT)" in line
    assert "Kafka at 127.0.0.1:1" in line
    assert "not committed: legacy.public.wells[3]@10..12" in line


@pytest.fixture
def own_kafka(cdc_stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A one-node Kafka of this test's own, with the two CDC topics the worker reads."""
    folder = tmp_path / "stack"
    (folder / "kafka").mkdir(parents=True)
    for name in ("classpath.txt", "classpath.stamp"):
        shutil.copy(kafka.home(cdc_stack) / name, folder / "kafka" / name)
    settings = cdc_stack.model_copy(
        update={
            "stack_dir": folder,
            "kafka_bootstrap": f"127.0.0.1:{free_port()}",
            "kafka_controller_port": free_port(),
            "topic_partitions": PARTITIONS,
        }
    )
    kafka.up(settings)
    try:
        tables = [cdc_topic(settings, t) for t in ("basins", "wells")]
        ensure_topics(settings.kafka_bootstrap, [TopicSpec(t, PARTITIONS) for t in tables])
        yield settings
    finally:
        kafka.down(settings)


def _members(settings: Settings, group: str) -> int:
    try:
        return read_group(settings.kafka_bootstrap, group).members
    except KafkaUnavailableError:  # a new broker's group coordinator is still loading
        return 0


def _wait_member(settings: Settings, group: str) -> None:
    deadline = time.monotonic() + 60
    while _members(settings, group) < 1:
        assert time.monotonic() < deadline, f"the worker never joined {group}"
        time.sleep(0.5)


def _wait_for_text(worker: WorkerProcess, text: str) -> None:
    deadline = time.monotonic() + 60
    while text not in worker.log_file.read_text():
        assert time.monotonic() < deadline, f"no {text!r} in {worker.log_file}"
        time.sleep(0.2)


def test_sigterm_with_kafka_gone_exits_1_within_the_timeout_naming_the_cause(
    own_kafka: Settings, tmp_path: Path
) -> None:
    topics = own_topics("stop", uuid.uuid4().hex[:8])
    env = {
        **as_env(topics),
        "STREAMS_KAFKA_BOOTSTRAP": own_kafka.kafka_bootstrap,
        "STREAMS_TOPIC_PARTITIONS": str(PARTITIONS),
        "STREAMS_WORKER_DATA_DIR": str(tmp_path / "worker"),
        "STREAMS_WORKER_STOP_TIMEOUT": str(STOP_TIMEOUT),
    }
    worker = WorkerProcess(tmp_path / "worker.log", env)
    worker.start()
    try:
        _wait_member(own_kafka, topics["consumer_group"])
        kafka.down(own_kafka)
        # SIGTERM once the worker has found Kafka gone. Whether its stop then hangs
        # depends on where aiokafka's fetcher is (a fetch waiting to retry is waited for,
        # for ever); either way the stop ends within the bound.
        _wait_for_text(worker, "Connect call failed")
        code = worker.stop(signal.SIGTERM, timeout=STOP_TIMEOUT + 30)
    finally:
        if worker.alive():
            worker.stop(signal.SIGKILL)

    log = worker.log_file.read_text()
    if code == 0:
        assert f"worker stopped group={topics['consumer_group']}" in log
        return
    assert code == EXIT_NOT_COMMITTED, log[-2000:]
    [line] = [line for line in log.splitlines() if "stop timed out" in line]
    assert "level=ERROR" in line and "STREAMS_WORKER_STOP_TIMEOUT" in line
    assert own_kafka.kafka_bootstrap in line and "not committed:" in line
