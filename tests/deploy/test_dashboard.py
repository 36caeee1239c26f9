"""The Grafana dashboard reads only metrics that exist: the worker's own, checked against
its exposition here and against a live worker's /metrics on the stack."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client import generate_latest

from streams.agents import metrics
from streams.config import Settings
from streams.ops.worker_process import WorkerProcess
from tests._own_worker import as_env, own_topics, wait_caught_up
from tests.deploy._dashboard import (
    DASHBOARD,
    EXPORTER_METRICS,
    exposed_names,
    metric_names,
    panels,
    queried_metrics,
)

# The issue's list: lag per partition, time lag, throughput, dead letters, echoes, sink.
REQUIRED = {
    "kafka_consumergroup_lag",
    "streams_end_to_end_seconds_bucket",
    "streams_events_in_total",
    "streams_dead_letters_total",
    "streams_echoes_suppressed_total",
    "streams_sink_batch_seconds_bucket",
}


def _worker_metrics(queried: dict[str, str]) -> set[str]:
    return {name for name in queried if name not in EXPORTER_METRICS}


def test_metric_names_are_read_from_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, agent) (rate(a_bucket{namespace="x"}[5m])))'
        " / ignoring(agent) sum(increase(b_total[1m]))"
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}


def test_dashboard_covers_the_issue_and_every_panel_has_a_query() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    for panel in panels():
        assert panel["targets"], panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"])
    assert set(queried_metrics()) >= REQUIRED


def test_exporter_metrics_are_named_as_such_in_their_panels() -> None:
    for panel in panels():
        used = {n for t in panel["targets"] for n in metric_names(t["expr"])}
        for name in used & set(EXPORTER_METRICS):
            assert EXPORTER_METRICS[name] in panel["description"], panel["title"]


def test_dashboard_reads_only_what_the_worker_registry_exposes() -> None:
    exposed = exposed_names(generate_latest(metrics.REGISTRY).decode())
    missing = _worker_metrics(queried_metrics()) - exposed
    assert not missing, f"dashboard queries metrics the worker does not export: {missing}"


@pytest.fixture(scope="module")
def live_metrics(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real worker with its own group and topics, after it has read the CDC history."""
    topics = own_topics("dashboard", uuid.uuid4().hex[:8])
    env = {**as_env(topics), "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("worker"))}
    process = WorkerProcess(tmp_path_factory.mktemp("logs") / "worker.log", env)
    process.start()
    try:
        wait_caught_up(cdc_stack.model_copy(update=topics))
        yield httpx.get(f"http://127.0.0.1:{process.port}/metrics", timeout=10).text
    finally:
        process.stop()


@pytest.mark.stack
def test_dashboard_reads_only_what_a_live_worker_exports(live_metrics: str) -> None:
    exposed = exposed_names(live_metrics)
    missing = _worker_metrics(queried_metrics()) - exposed
    assert not missing, f"a live /metrics scrape lacks: {missing}"
    # The worker has done work: its throughput series carry samples, not just a HELP line.
    assert "streams_events_in_total" in {
        line.split("{")[0] for line in live_metrics.splitlines() if not line.startswith("#")
    }
