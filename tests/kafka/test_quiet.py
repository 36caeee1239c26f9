"""With Kafka down our clients raise one clear error and librdkafka stays quiet on stderr.

The broker address is a loopback port that refuses connections (bound, never listening).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest

from streams.errors import KafkaUnavailableError
from streams.kafka.admin import ensure_topics
from streams.kafka.lag import group_lag, list_groups
from streams.kafka.reader import end_offsets


@pytest.fixture
def refused() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


CALLS: dict[str, Callable[[str], object]] = {
    "admin": lambda bootstrap: ensure_topics(bootstrap, [], timeout=3),
    "reader": lambda bootstrap: end_offsets(bootstrap, "any"),
    "lag": lambda bootstrap: group_lag(bootstrap, "streams-quiet-test", ["any"]),
    # `streams lag --all`: no answer must never read as "no groups, all OK".
    "groups": list_groups,
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_kafka_down_is_one_error_without_a_flood(
    call: Callable[[str], object], refused: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(KafkaUnavailableError, match=refused):
        call(refused)

    assert "FAIL" not in capfd.readouterr().err
