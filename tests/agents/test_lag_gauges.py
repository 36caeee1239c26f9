"""The worker's /metrics serves consumer lag under kafka_exporter's name and labels."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.agents import metrics
from streams.kafka.lag import PartitionLag, read_group
from streams.kafka.topics import cdc_topic
from tests.agents.conftest import Worker

Series = dict[tuple[str, str, int], float]  # (group, topic, partition) -> value


def _series(text: str, name: str) -> Series:
    return {
        (s.labels["consumergroup"], s.labels["topic"], int(s.labels["partition"])): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def test_publish_replaces_the_series_so_a_partition_given_away_drops_out() -> None:
    metrics.publish_lag("g", [PartitionLag("t", 0, 3, 10, lag_seconds=4.5)])
    metrics.publish_lag("g", [PartitionLag("t", 1, 8, 8, lag_seconds=0.0)])

    text = generate_latest(metrics.REGISTRY).decode()
    assert _series(text, "kafka_consumergroup_lag") == {("g", "t", 1): 0.0}
    assert _series(text, "kafka_consumergroup_lag_seconds") == {("g", "t", 1): 0.0}


def test_an_unread_age_has_no_time_series() -> None:
    metrics.publish_lag("g", [PartitionLag("t", 0, 3, 10, lag_seconds=None)])

    text = generate_latest(metrics.REGISTRY).decode()
    assert _series(text, "kafka_consumergroup_lag") == {("g", "t", 0): 7.0}
    assert _series(text, "kafka_consumergroup_lag_seconds") == {}


def _scrape_until_caught_up(worker: Worker, wanted: set[tuple[str, int]]) -> str:
    """/metrics once the lag gauges name every wanted partition, all at lag 0."""
    group, deadline = worker.settings.consumer_group, time.monotonic() + 60
    while True:
        text = httpx.get(f"http://127.0.0.1:{worker.process.port}/metrics", timeout=10).text
        lags = _series(text, "kafka_consumergroup_lag")
        shown = {(t, p): v for (g, t, p), v in lags.items() if g == group and (t, p) in wanted}
        if set(shown) == wanted and not any(shown.values()):
            return text
        assert time.monotonic() < deadline, f"lag gauges of {group}: {lags}"
        time.sleep(0.5)


@pytest.mark.stack
def test_a_live_worker_exports_the_lag_of_every_partition_it_owns(worker: Worker) -> None:
    settings = worker.settings
    cdc = [cdc_topic(settings, t) for t in ("basins", "wells")]
    wanted = {(t, p) for t in cdc for p in range(settings.topic_partitions)}

    text = _scrape_until_caught_up(worker, wanted)

    lags = _series(text, "kafka_consumergroup_lag")
    ages = _series(text, "kafka_consumergroup_lag_seconds")
    assert set(ages) == set(lags)
    # The sole member owns and commits these; table changelogs are not the group's lag.
    topics = {t for _, t, _ in lags}
    assert settings.command_topic in topics
    assert not any(t.endswith("-changelog") for t in topics)


def test_streams_lag_leaves_out_the_workers_own_internal_topics(worker: Worker) -> None:
    """A live Faust member is assigned its changelogs but never commits them: not lag."""
    settings = worker.settings
    seen = read_group(settings.kafka_bootstrap, settings.consumer_group)
    assert seen.members == 1
    topics = {p.topic for p in seen.partitions}
    assert cdc_topic(settings, "wells") in topics
    assert not [t for t in topics if t.startswith(f"{settings.consumer_group}-")]
