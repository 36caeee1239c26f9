"""A real `streams worker` process per test module, isolated by its own group and topics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from streams.config import Settings
from streams.ops.worker_process import WorkerProcess
from tests._own_worker import as_env, own_topics, wait_caught_up


@dataclass
class Worker:
    settings: Settings
    process: WorkerProcess


@pytest.fixture(scope="module")
def worker(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    topics = own_topics("worker", uuid.uuid4().hex[:8])
    env = {
        **as_env(topics),
        "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("worker")),
        # Lag gauges every second, so a test reads them without waiting 15 s.
        "STREAMS_WORKER_LAG_INTERVAL": "1",
    }
    settings = cdc_stack.model_copy(update=topics)
    process = WorkerProcess(tmp_path_factory.mktemp("logs") / "worker.log", env)
    process.start()
    wait_caught_up(settings)
    yield Worker(settings, process)
    process.stop()
