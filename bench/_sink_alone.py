"""Our sink alone, in-process: what the sink agent does per batch, without Kafka or Faust.

The SinkChange records of the bench topic are decoded (SinkChange.from_json) and written
through PostgresSink in batches of the agent's BATCH_MAX, in one thread, into a fresh
copy of wells. Decode and write are timed apart, with this process's CPU time: the
difference between this rate and the worker's is what Kafka, Faust and the agent's glue
cost; the write's wall time beyond its CPU time is Postgres'.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench import _tables
from streams.agents.postgres_sink import BATCH_MAX
from streams.sinks.postgres import PostgresSink
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.twin_flow import SinkChange


@dataclass(frozen=True)
class Alone:
    changes: int
    decode_seconds: float
    write_seconds: float
    write_cpu_seconds: float
    span_seconds: float  # first row to last row, Postgres' stamps

    @property
    def changes_per_s(self) -> float:
        total = self.decode_seconds + self.write_seconds
        return self.changes / total if total > 0 else 0.0

    @property
    def write_changes_per_s(self) -> float:
        return self.changes / self.write_seconds if self.write_seconds > 0 else 0.0


def measure(dsn: str, values: Sequence[bytes], table: str, function: str) -> Alone:
    """Decode then write `values` (SinkChange JSON whose table is `table`)."""
    _tables.create(dsn, table, function)
    started = time.perf_counter()
    changes = [SinkChange.from_json(value) for value in values]
    decoded = time.perf_counter()
    cpu = time.process_time()
    with PostgresSink(dsn, origin=SYNC_ORIGIN, application="ditto-streams-bench") as sink:
        for start in range(0, len(changes), BATCH_MAX):
            stats = sink.write(changes[start : start + BATCH_MAX])
            if stats.rejected:
                raise SystemExit(f"Postgres refused {len(stats.rejected)} bench changes")
    written = time.perf_counter()
    return Alone(
        changes=len(changes),
        decode_seconds=decoded - started,
        write_seconds=written - decoded,
        write_cpu_seconds=time.process_time() - cpu,
        span_seconds=_tables.span(dsn, table).seconds,
    )


__all__ = ["Alone", "measure"]
