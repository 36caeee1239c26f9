"""The two contestants as processes: a real `streams worker` and the plain loop.

Each gets its own consumer group and output topic, reads the bench topic from the
earliest offset, and is left running until its output holds one record per input event.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer

from bench import _topics
from streams.config import PROJECT_ROOT, Settings
from streams.kafka.topics import TopicSpec

FIRST_OUTPUT_TIMEOUT = 180.0  # worker start-up on a busy 2-core machine included
STALL_TIMEOUT = 60.0  # no new output for this long after the first: something is wrong
POLL = 0.5
MIN_WINDOW = 1000  # records: fewer make a CPU-per-record figure meaningless


@dataclass
class Contestant:
    name: str
    group: str
    output: str
    log: Path
    proc: subprocess.Popen[bytes]
    dead_letters: str | None = None
    scratch: list[Path] = field(default_factory=list)


def start_ours(
    settings: Settings,
    prefix: str,
    source_prefix: str,
    log: Path,
    faust_env: dict[str, str] | None = None,
    name: str = "ours",
    sink_topic: str | None = None,
) -> Contestant:
    """A real worker reading `<source_prefix>.public.<table>` with its own group and topics.

    `faust_env` adds environment variables Faust reads its settings from (for instance
    PRODUCER_MAX_BATCH_SIZE): a tuned variant of the same worker, nothing else changed.
    `sink_topic` is the topic its Postgres sink agent reads (by default its own empty one).
    """
    group = prefix
    data_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    env = {
        "STREAMS_TOPIC_PREFIX": source_prefix,
        "STREAMS_CONSUMER_GROUP": group,
        "STREAMS_COMMAND_TOPIC": f"{prefix}.commands",
        "STREAMS_DEAD_LETTER_TOPIC": f"{prefix}.dead-letters",
        # The worker runs the way back too: keep it off the stack's real event,
        # reply and sink topics, or it would replay them into Postgres.
        "STREAMS_EVENT_TOPIC": f"{prefix}.events",
        "STREAMS_REPLY_TOPIC": f"{prefix}.replies",
        "STREAMS_SINK_TOPIC": sink_topic or f"{prefix}.sink",
        "STREAMS_WORKER_DATA_DIR": str(data_dir),
        **(faust_env or {}),
    }
    n = settings.topic_partitions
    _topics.create(
        settings.kafka_bootstrap,
        [
            _topics.output_spec(env["STREAMS_COMMAND_TOPIC"], n),
            TopicSpec(env["STREAMS_DEAD_LETTER_TOPIC"], 1),
        ],
    )
    command = [sys.executable, "-m", "streams.cli", "worker", "--port", str(_free_port())]
    proc = _spawn(command, env, log)
    return Contestant(
        name,
        group,
        env["STREAMS_COMMAND_TOPIC"],
        log,
        proc,
        dead_letters=env["STREAMS_DEAD_LETTER_TOPIC"],
        scratch=[data_dir],
    )


def start_plain(settings: Settings, prefix: str, source: str, count: int, log: Path) -> Contestant:
    output = f"{prefix}.copy"
    spec = _topics.output_spec(output, settings.topic_partitions)
    _topics.create(settings.kafka_bootstrap, [spec])
    command = [sys.executable, "-m", "bench._plain_loop", source, output, str(count), prefix]
    return Contestant("plain", prefix, output, log, _spawn(command, {}, log))


def start_faust_copy(settings: Settings, prefix: str, source: str, log: Path) -> Contestant:
    output = f"{prefix}.copy"
    data_dir = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    spec = _topics.output_spec(output, settings.topic_partitions)
    _topics.create(settings.kafka_bootstrap, [spec])
    command = [sys.executable, "-m", "bench._faust_copy", source, output, prefix, str(data_dir)]
    proc = _spawn(command, {}, log)
    return Contestant("faust", prefix, output, log, proc, scratch=[data_dir])


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Finished:
    """How a contestant's run ended, and its CPU time while its output grew."""

    dead_letters: int = 0
    window_records: int = 0  # records written between the two CPU readings
    window_cpu_s: float = 0.0
    whole_cpu_s: float | None = None  # all the process's CPU, if no window was sampled

    @property
    def cpu_ms_per_event(self) -> float | None:
        """CPU per record, robust to a busy machine; None if the run was too short."""
        if self.window_records < MIN_WINDOW:
            return None
        return 1000 * self.window_cpu_s / self.window_records

    def whole_cpu_ms_per_event(self, records: int) -> float | None:
        if self.whole_cpu_s is None or records == 0:
            return None
        return 1000 * self.whole_cpu_s / records


def wait_done(
    settings: Settings,
    contestant: Contestant,
    count: int,
    progress: Callable[[int], None],
    on_first: Callable[[], None] | None = None,
) -> Finished:
    """Wait until the output (plus dead letters) holds `count` records."""
    reader = _topics.offset_reader(settings.kafka_bootstrap)
    started, done, last_change = time.monotonic(), 0, time.monotonic()
    first: tuple[int, float] | None = None  # (records, CPU seconds) when output began
    try:
        while True:
            written, dead = _written(reader, contestant)
            if written + dead != done:
                if first is None:
                    first = (written + dead, cpu_seconds(contestant.proc.pid))
                    if on_first is not None:
                        on_first()
                done, last_change = written + dead, time.monotonic()
                progress(done)
            if done >= count:
                return _finished(contestant, dead, done, first)
            _check(contestant, done, started, last_change)
            time.sleep(POLL)
    finally:
        reader.close()


def _finished(
    contestant: Contestant, dead: int, done: int, first: tuple[int, float] | None
) -> Finished:
    if first is None or contestant.proc.poll() is not None:
        return Finished(dead)  # the plain loop exits by itself: no second reading
    return Finished(dead, done - first[0], cpu_seconds(contestant.proc.pid) - first[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _written(reader: Consumer, contestant: Contestant) -> tuple[int, int]:
    written = _topics.end_total(reader, contestant.output)
    dead = _topics.end_total(reader, contestant.dead_letters) if contestant.dead_letters else 0
    return written, dead


def _check(contestant: Contestant, done: int, started: float, last_change: float) -> None:
    if contestant.proc.poll() is not None:
        raise SystemExit(
            f"{contestant.name} exited with {contestant.proc.returncode} after {done} "
            f"records: see {contestant.log}"
        )
    now = time.monotonic()
    if done == 0 and now - started > FIRST_OUTPUT_TIMEOUT:
        raise SystemExit(
            f"{contestant.name} wrote nothing in {FIRST_OUTPUT_TIMEOUT:.0f}s: see {contestant.log}"
        )
    if done > 0 and now - last_change > STALL_TIMEOUT:
        raise SystemExit(f"{contestant.name} stalled at {done} records: see {contestant.log}")


def stop(contestant: Contestant) -> None:
    """SIGTERM (the worker commits and leaves its group), then remove its scratch folders."""
    proc = contestant.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    for folder in contestant.scratch:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = [
    "Contestant",
    "Finished",
    "cpu_seconds",
    "start_faust_copy",
    "start_ours",
    "start_plain",
    "stop",
    "wait_done",
]
