"""A real `streams worker` process per test module, isolated by its own group and topics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.config import Settings
from streams.stack._process import wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    settings: Settings
    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker", "--port", str(self.port)],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            self._ready,
            what="worker",
            timeout=120,
            alive=lambda: self.proc is not None and self.proc.poll() is None,
            fix=f"see {self.log}",
        )

    def _ready(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(60)


@pytest.fixture(scope="module")
def worker(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    run = uuid.uuid4().hex[:8]
    env = {
        "STREAMS_CONSUMER_GROUP": f"test-worker-{run}",
        "STREAMS_COMMAND_TOPIC": f"test.commands.{run}",
        "STREAMS_DEAD_LETTER_TOPIC": f"test.dead-letters.{run}",
        "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("worker")),
    }
    settings = cdc_stack.model_copy(
        update={
            "consumer_group": env["STREAMS_CONSUMER_GROUP"],
            "command_topic": env["STREAMS_COMMAND_TOPIC"],
            "dead_letter_topic": env["STREAMS_DEAD_LETTER_TOPIC"],
        }
    )
    log = tmp_path_factory.mktemp("logs") / "worker.log"
    handle = Worker(settings, env, _free_port(), log)
    handle.start()
    yield handle
    handle.stop()
