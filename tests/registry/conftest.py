"""The stack with its Avro path: the schema registry and Debezium's Avro connector."""

from __future__ import annotations

import pytest

from streams.config import Settings


@pytest.fixture(scope="session")
def avro_stack(cdc_stack: Settings) -> Settings:
    """Returns at once when the registry and the Avro connector already run."""
    from streams.stack import orchestrator

    orchestrator.up(cdc_stack, only=("avro",))
    return cdc_stack
