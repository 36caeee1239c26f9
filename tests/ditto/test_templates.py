"""Ditto templates: placeholders filled in keys and values; drift against Ditto's answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.ditto._templates import drift, fill, load_template
from streams.errors import ConfigError

SOURCE = Path("deploy/ditto/test.json")


def test_placeholders_fill_keys_and_values_and_leave_dittos_own_alone() -> None:
    template = {"subjects": {"${sub}": {"type": "t"}}, "address": ["${topic}/{{ thing:id }}"]}

    filled = fill(template, {"sub": "integration:x", "topic": "cmds"}, SOURCE)

    assert filled == {
        "subjects": {"integration:x": {"type": "t"}},
        "address": ["cmds/{{ thing:id }}"],
    }


def test_an_unknown_placeholder_names_the_file_and_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"test.json: unknown placeholder \$\{nope\}.*\$\{a\}"):
        fill({"x": "${nope}"}, {"a": "1"}, SOURCE)


def test_a_template_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(["x"]))

    with pytest.raises(ConfigError, match=r"policy\.json: .* must be a JSON object"):
        load_template(path, {})


def test_defaults_and_bookkeeping_that_ditto_adds_are_no_drift() -> None:
    desired = {"sources": [{"addresses": ["c"], "qos": 1}], "specificConfig": {"a": "1"}}
    actual = {
        "id": "conn",
        "_revision": 3,
        "name": None,
        "clientCount": 1,
        "sources": [{"addresses": ["c"], "qos": 1, "consumerCount": 1, "headerMapping": {}}],
        "specificConfig": {"a": "1"},
    }

    assert drift(desired, actual) == []


def test_changed_missing_and_left_over_fields_are_drift() -> None:
    desired = {"sources": [{"addresses": ["c"], "qos": 1}], "targets": []}
    actual = {
        "sources": [{"addresses": ["old"], "headerMapping": {"x": "{{ header:x }}"}}],
        "targets": [],
        "clientCount": 2,
    }

    assert drift(desired, actual) == [
        "/sources/0/addresses/0",
        "/sources/0/qos",
        "/sources/0/headerMapping",
        "/clientCount",
    ]


def test_a_list_of_another_length_and_true_for_1_are_drift() -> None:
    assert drift({"a": [1, 2]}, {"a": [1]}) == ["/a"]
    assert drift({"a": True}, {"a": 1}) == ["/a"]


def test_the_shipped_templates_fill_from_settings_alone() -> None:
    from streams.config import Settings
    from streams.ditto.bootstrap import desired_state, policy_ids
    from streams.mapping import load_mappings

    settings = Settings(command_topic="cmds", reply_topic="answers", event_topic="events")
    policies = policy_ids(load_mappings(settings.mappings_dir), ["acme", "nordic"])

    wanted = {e.entity_id: e.body for e in desired_state(settings, policies)}

    assert list(wanted) == [
        "acme:default-policy",
        "nordic:default-policy",
        "streams-commands",
        "streams-events",
    ]
    assert "${" not in json.dumps(wanted)
    source = wanted["streams-commands"]["sources"][0]
    assert source["addresses"] == ["cmds"]
    assert source["replyTarget"]["address"] == "answers/{{ thing:id }}"
    assert wanted["streams-commands"]["specificConfig"]["consumerOffsetReset"] == "earliest"
    assert wanted["streams-events"]["targets"][0]["address"] == "events/{{ thing:id }}"
    sync = wanted["acme:default-policy"]["entries"]["SYNC"]
    assert list(sync["subjects"]) == [settings.ditto_sync_subject]


def test_a_bad_or_long_tenant_is_named_as_the_tenant_to_change() -> None:
    from streams.config import get_settings
    from streams.ditto.bootstrap import policy_ids
    from streams.errors import ThingIdError
    from streams.mapping import load_mappings

    mappings = load_mappings(get_settings().mappings_dir)
    with pytest.raises(ThingIdError, match=r"^tenant 'Bad Tenant!' is not a Ditto namespace"):
        policy_ids(mappings, ["Bad Tenant!"])
    with pytest.raises(ThingIdError, match=r"Ditto allows 256: use a shorter tenant than"):
        policy_ids(mappings, ["a" * 300])
