"""Client settings every confluent-kafka client of our tools shares."""

from __future__ import annotations

# With the broker down, librdkafka writes every failed connect to stderr (about twenty
# lines a second) and drowns the one error that matters. Our calls raise
# KafkaUnavailableError naming the fix, so librdkafka keeps only critical lines.
QUIET = {"log_level": 2}
