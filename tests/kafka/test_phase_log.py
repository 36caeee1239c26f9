"""Following the phase topic on the real Kafka: the phase in force at start, each later
record, and a bad record that changes nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer

from streams.config import Settings
from streams.kafka.admin import ensure_topics
from streams.kafka.phase_log import PhaseFollower, read_phase, write_phase
from streams.kafka.topics import phase_topic
from streams.state.phase import Phase, PhaseRecord

pytestmark = pytest.mark.stack


def _record(phase: Phase, previous: Phase) -> PhaseRecord:
    return PhaseRecord(phase, previous, "2026-12-04T00:00:00Z", "test")


@pytest.fixture
def settings(cdc_stack: Settings) -> Iterator[Settings]:
    own = cdc_stack.model_copy(update={"phase_topic": f"test.phase.{uuid.uuid4().hex[:8]}"})
    ensure_topics(own.kafka_bootstrap, [phase_topic(own)])
    yield own


def _wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def test_a_follower_knows_the_phase_in_force_when_start_returns(settings: Settings) -> None:
    write_phase(
        settings.kafka_bootstrap,
        settings.phase_topic,
        _record(Phase.DITTO_PRIMARY, Phase.DUAL_WRITE),
    )
    write_phase(
        settings.kafka_bootstrap, settings.phase_topic, _record(Phase.CUTOVER, Phase.DITTO_PRIMARY)
    )
    seen: list[Phase] = []
    follower = PhaseFollower(
        settings.kafka_bootstrap, settings.phase_topic, lambda _, r: seen.append(r.phase)
    )
    follower.start()
    try:
        assert follower.phase is Phase.CUTOVER
        assert seen == [Phase.DITTO_PRIMARY, Phase.CUTOVER]
    finally:
        follower.stop()


def test_a_follower_obeys_a_later_record_and_ignores_a_bad_one(settings: Settings) -> None:
    follower = PhaseFollower(settings.kafka_bootstrap, settings.phase_topic, lambda _, r: None)
    follower.start()
    try:
        assert follower.phase is Phase.DUAL_WRITE  # the empty topic's default
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
        producer.produce(settings.phase_topic, key=b"phase", value=b'{"phase": "done"}')
        producer.flush(10)
        record = _record(Phase.LEGACY_PRIMARY, Phase.DUAL_WRITE)
        write_phase(settings.kafka_bootstrap, settings.phase_topic, record)

        _wait(lambda: follower.phase is Phase.LEGACY_PRIMARY, "the later record obeyed")
        assert follower.record == record
        assert read_phase(settings.kafka_bootstrap, settings.phase_topic) == record
    finally:
        follower.stop()
