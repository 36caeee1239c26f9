"""Session fixtures: the real local stack, started once per test run."""

from __future__ import annotations

import pytest

from streams.config import Settings, get_settings


@pytest.fixture(scope="session")
def cdc_stack() -> Settings:
    """Postgres, Kafka and Connect with Debezium, up and past the initial snapshot.

    Returns at once when the stack is already healthy (a second `up` changes nothing).
    """
    from streams.stack import orchestrator

    settings = get_settings()
    orchestrator.up(settings, only=("postgres", "kafka", "connect"))
    return settings
