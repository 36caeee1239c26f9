"""An Avro worker whose registry does not answer: its events wait, none is dead-lettered."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from streams.config import Settings
from streams.kafka.reader import read_to_end
from streams.ops.worker_process import WorkerProcess, free_port
from tests._own_worker import as_env, own_topics

pytestmark = pytest.mark.stack


def _registry_retries(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    for line in text.splitlines():
        if line.startswith("streams_retries_total{") and 'peer="registry-or-postgres"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_events_wait_for_the_registry_and_none_is_dead_lettered(
    avro_stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    fields = {**own_topics("avro-away", uuid.uuid4().hex[:8]), "cdc_format": "avro"}
    away = f"http://127.0.0.1:{free_port()}"
    worker = WorkerProcess(
        tmp_path_factory.mktemp("logs") / "worker.log",
        {
            **as_env(fields),
            "STREAMS_SCHEMA_REGISTRY_URL": away,
            "STREAMS_SCHEMA_REGISTRY_TIMEOUT": "1",
            "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        },
    )
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while _registry_retries(worker.port) < 3:
            assert time.monotonic() < deadline, f"no registry retries; see {worker.log_file}"
            time.sleep(1)
        log = worker.log_file.read_text()
        assert f"schema registry at {away} did not answer" in log
        assert "dead letter" not in log
        assert worker.alive()
    finally:
        worker.stop()
    # Stopped while waiting: nothing reached the dead-letter or the command topic.
    for topic in (fields["dead_letter_topic"], fields["command_topic"]):
        assert list(read_to_end(avro_stack.kafka_bootstrap, topic)) == []
