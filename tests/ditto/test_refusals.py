"""Ditto refusals whose fix we know name it; others are left to Ditto's own message."""

from __future__ import annotations

from streams.ditto.refusals import known_fix


def test_a_missing_policy_names_the_bootstrap_of_the_things_tenant() -> None:
    fix = known_fix("policies:policy.notfound", "nordic:well-15-9-f-12")

    assert fix is not None
    assert "no policy" in fix
    assert "streams ditto bootstrap --tenant nordic" in fix


def test_a_refused_write_names_the_bootstrap_too() -> None:
    fix = known_fix("things:thing.notmodifiable", "acme:basin-5001")

    assert fix is not None and "--tenant acme" in fix


def test_a_data_refusal_has_no_known_fix() -> None:
    assert known_fix("things:attribute.invalid", "acme:basin-5001") is None
    assert known_fix(None, "acme:basin-5001") is None
