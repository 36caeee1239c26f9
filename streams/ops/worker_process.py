"""Run `streams worker` as a child process: for the demo, the benchmarks and the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from streams.errors import StackError
from streams.stack._process import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WorkerProcess:
    """One worker; `env` overrides settings (STREAMS_*) for this worker only, `options`
    are the command's global options (e.g. --log-json)."""

    def __init__(
        self,
        log_file: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        options: Sequence[str] = (),
    ) -> None:
        self.log_file = log_file
        self.env = env or {}
        self.port = port or free_port()
        self.options = tuple(options)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "streams.cli", *self.options),
                    *("worker", "--port", str(self.port)),
                ],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            self._answers,
            what="worker",
            timeout=timeout,
            alive=self.alive,
            fix=f"see {self.log_file}",
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1):
            return True

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int | None:
        """Signal the worker and wait; SIGTERM lets Faust commit what it processed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired as exc:
                self.proc.kill()
                self.proc.wait()
                raise StackError(f"worker ignored {sig!r} for {timeout:.0f}s") from exc
        return self.proc.returncode
