"""The worker's own Prometheus metrics; /metrics serves them with the lag gauges."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_IN = Counter("streams_events_in", "Records an agent consumed", ["agent"], registry=REGISTRY)
EVENTS_OUT = Counter(
    "streams_events_out", "Records an agent produced", ["agent"], registry=REGISTRY
)
SKIPPED = Counter(
    "streams_skipped",
    "Records that needed nothing sent, by kind",
    ["agent", "kind"],
    registry=REGISTRY,
)
DUPLICATES = Counter(
    "streams_duplicates_dropped",
    "Redelivered records dropped by a gate",
    ["agent"],
    registry=REGISTRY,
)
ECHOES = Counter(
    "streams_echoes_suppressed",
    "Our own writes seen coming back and not resent",
    ["agent"],
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "streams_dead_letters",
    "Records sent to the dead-letter topic",
    ["agent", "stage"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "streams_retries",
    "Retries after a transient failure of a peer",
    ["agent", "peer"],
    registry=REGISTRY,
)
DITTO_ANSWERS = Counter(
    "streams_ditto_answers",
    "Ditto's answers to our commands, by verdict (done, retry, dead-letter) and status",
    ["verdict", "status"],
    registry=REGISTRY,
)
UNMAPPED_PATHS = Counter(
    "streams_unmapped_paths",
    "Twin paths that no mapping names: reported, never written to a row",
    ["agent", "table"],
    registry=REGISTRY,
)
UNMAPPED_COLUMNS = Counter(
    "streams_unmapped_columns",
    "Columns a schema change added that no mapping names (each counted once per worker)",
    ["table", "column"],
    registry=REGISTRY,
)
SINK_BATCH_SIZE = Histogram(
    "streams_sink_batch_size",
    "Rows per Postgres sink transaction",
    registry=REGISTRY,
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000),
)
SINK_LATENCY = Histogram(
    "streams_sink_batch_seconds",
    "Seconds per Postgres sink transaction",
    registry=REGISTRY,
)
END_TO_END = Histogram(
    "streams_end_to_end_seconds",
    "From the row's commit in Postgres to Ditto's event reaching the worker",
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def count_skip(agent: str, kind: str) -> None:
    SKIPPED.labels(agent, kind).inc()
    if kind == "duplicate":
        DUPLICATES.labels(agent).inc()
    elif kind == "echo":
        ECHOES.labels(agent).inc()


# Consumer lag under kafka_exporter's name and labels, so dashboards and alerts written for
# it read the worker as they are. Each worker exports only the partitions it owns, so a
# sum over the workers counts every partition once.
LAG_LABELS = ["consumergroup", "topic", "partition"]
CONSUMER_LAG = Gauge(
    "kafka_consumergroup_lag",
    "Records of a partition this worker owns that its group has not consumed",
    LAG_LABELS,
    registry=REGISTRY,
)
CONSUMER_LAG_SECONDS = Gauge(
    "kafka_consumergroup_lag_seconds",
    "Age of the oldest record of the partition the group has not consumed (0: no lag)",
    LAG_LABELS,
    registry=REGISTRY,
)


class _Lag(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def lag(self) -> int: ...
    @property
    def lag_seconds(self) -> float | None: ...


def publish_lag(group: str, lags: Iterable[_Lag]) -> None:
    """Replace the lag series with `lags`: a partition no longer owned drops out."""
    CONSUMER_LAG.clear()
    CONSUMER_LAG_SECONDS.clear()
    for lag in lags:
        labels = (group, lag.topic, str(lag.partition))
        CONSUMER_LAG.labels(*labels).set(lag.lag)
        if lag.lag_seconds is not None:
            CONSUMER_LAG_SECONDS.labels(*labels).set(lag.lag_seconds)


PHASE = Gauge(
    "streams_phase",
    "The migration phase this worker obeys: 1 for the phase in force, 0 for the others",
    ["phase"],
    registry=REGISTRY,
)


def publish_phase(current: str, phases: Iterable[str]) -> None:
    for phase in phases:
        PHASE.labels(phase).set(1 if phase == current else 0)


CONFLICTS = Counter(
    "streams_conflicts",
    "Columns a row edit and a twin edit changed each before seeing the other, by winner",
    ["winner"],
    registry=REGISTRY,
)
