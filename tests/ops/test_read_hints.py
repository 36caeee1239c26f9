"""`streams read` of an id in the wrong case: Ditto ids are case-sensitive, so the answer
points at the lower-case id the sync would have made."""

from __future__ import annotations

import uuid

import pytest

from streams.config import Settings
from streams.ops.read import read_twin

pytestmark = pytest.mark.stack


def test_an_upper_case_name_is_answered_with_the_lower_case_id(cdc_stack: Settings) -> None:
    from streams.stack import orchestrator

    orchestrator.up(cdc_stack, only=("ditto",))
    tenant = f"thint{uuid.uuid4().hex[:8]}"

    result = read_twin(cdc_stack, f"{tenant}:Well-X-1")

    assert result.source is None
    assert f"try '{tenant}:well-x-1'" in result.reason


def test_a_lower_case_id_gets_no_case_hint(cdc_stack: Settings) -> None:
    tenant = f"thint{uuid.uuid4().hex[:8]}"

    result = read_twin(cdc_stack, f"{tenant}:gadget-1")

    assert "lower-case" not in result.reason
