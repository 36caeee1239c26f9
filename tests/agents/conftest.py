"""A real `streams worker` process per test module, isolated by its own group and topics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from streams.config import Settings
from streams.kafka.lag import group_lag
from streams.kafka.topics import cdc_topic
from streams.ops.worker_process import WorkerProcess


@dataclass
class Worker:
    settings: Settings
    process: WorkerProcess


def _caught_up(settings: Settings, timeout: float = 600.0) -> None:
    """Wait until the new group has read the CDC history, so tests time only their own rows."""
    topics = [cdc_topic(settings, table) for table in ("basins", "wells")]
    deadline = time.monotonic() + timeout
    while any(
        p.lag > 0 for p in group_lag(settings.kafka_bootstrap, settings.consumer_group, topics)
    ):
        assert time.monotonic() < deadline, "worker did not catch up with the CDC topics"
        time.sleep(1)


@pytest.fixture(scope="module")
def worker(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    run = uuid.uuid4().hex[:8]
    env = {
        "STREAMS_CONSUMER_GROUP": f"test-worker-{run}",
        "STREAMS_COMMAND_TOPIC": f"test.commands.{run}",
        "STREAMS_DEAD_LETTER_TOPIC": f"test.dead-letters.{run}",
        # Its own way back too: the stack's event and sink topics are not this test's.
        "STREAMS_EVENT_TOPIC": f"test.events.{run}",
        "STREAMS_REPLY_TOPIC": f"test.replies.{run}",
        "STREAMS_SINK_TOPIC": f"test.sink.{run}",
        "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("worker")),
        # Lag gauges every second, so a test reads them without waiting 15 s.
        "STREAMS_WORKER_LAG_INTERVAL": "1",
    }
    settings = cdc_stack.model_copy(
        update={
            "consumer_group": env["STREAMS_CONSUMER_GROUP"],
            "command_topic": env["STREAMS_COMMAND_TOPIC"],
            "dead_letter_topic": env["STREAMS_DEAD_LETTER_TOPIC"],
        }
    )
    process = WorkerProcess(tmp_path_factory.mktemp("logs") / "worker.log", env)
    process.start()
    _caught_up(settings)
    yield Worker(settings, process)
    process.stop()
