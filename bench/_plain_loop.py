"""The baseline: a plain confluent-kafka consume -> produce loop, records copied unchanged.

Run as its own process, like the worker, so neither shares an interpreter with the bench:
`python -m bench._plain_loop SOURCE TARGET COUNT GROUP`. Client settings are the
library defaults (acks=all, auto-commit), as a first plain loop would have them.
"""

from __future__ import annotations

import sys
from typing import Any

from confluent_kafka import Consumer, Producer

from streams.config import get_settings


def copy(source: str, target: str, count: int, group: str) -> None:
    bootstrap = get_settings().kafka_bootstrap
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    producer = Producer({"bootstrap.servers": bootstrap})
    consumer.subscribe([source])
    copied = 0
    try:
        while copied < count:
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                raise SystemExit(f"consume from {source} failed: {message.error()}")
            _produce(producer, target, message)
            copied += 1
        if producer.flush(60):
            raise SystemExit(f"records to {target} not acknowledged: check the broker log")
    finally:
        consumer.close()


def _produce(producer: Producer, target: str, message: Any) -> None:
    while True:
        try:
            producer.produce(
                target,
                key=message.key(),
                value=message.value(),
                headers=message.headers(),
            )
            producer.poll(0)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.1)


if __name__ == "__main__":
    copy(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
