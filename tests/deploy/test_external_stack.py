"""STREAMS_STACK_EXTERNAL (docker-compose.test.yml): `stack up` waits for parts it did not
start and never starts one itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config import Settings
from streams.stack import orchestrator


@pytest.mark.stack
def test_external_parts_are_awaited_not_started(cdc_stack: Settings, tmp_path: Path) -> None:
    # An empty stack folder: the local path would start a second Kafka here (and fail on
    # the busy port); the external path only finds the running broker healthy.
    settings = cdc_stack.model_copy(update={"stack_external": True, "stack_dir": tmp_path})
    timings = orchestrator.up(settings, only=("kafka", "connect"))
    assert set(timings) == {"kafka", "connect"}
    assert list(tmp_path.iterdir()) == []
