"""Mapping files: what they may say, and errors that name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.cdc import ColumnSpec, ColumnType
from streams.errors import ConfigError
from streams.mapping import load_mapping, load_mappings, mapping_for, parse_mapping
from tests.mapping.rows import mapping

GOOD = """
table = "gauges"
kind = "gauge"
key = ["tenant", "code"]
tenant_column = "tenant"
definition = "{models_url}/gauge-1.0.0.tm.jsonld"

[constant_attributes]
type = "GAUGE"

[columns.code]
path = "attributes/code"
type = "text"

[columns.reading]
path = "features/readings/properties/value"
type = "numeric"
scale = 2
"""


def test_shipped_mappings_describe_the_legacy_tables() -> None:
    wells, basins = mapping("wells"), mapping("basins")
    assert (wells.kind, wells.key, wells.features) == (
        "well",
        ["tenant", "well_code"],
        ["completion", "production", "status"],
    )
    assert (basins.kind, basins.features) == ("basin", ["geology", "location"])
    assert wells.column_types["tubing_size"] == ColumnSpec(ColumnType.NUMERIC, scale=3)
    assert wells.column_types["tenant"] == ColumnSpec(ColumnType.TEXT)
    assert "twin_revision" not in wells.columns and "updated_at" not in basins.columns
    assert wells.definition_url("http://h/models/") == "http://h/models/well-1.0.0.tm.jsonld"


def test_defaults_of_a_minimal_file() -> None:
    parsed = parse_mapping(GOOD, "gauges.toml")
    assert parsed.thing_id == "{tenant}:{kind}-{key}"
    assert parsed.policy_id == "{tenant}:default-policy"
    assert parsed.business_key == ["code"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (('type = "numeric"', 'type = "money"'), "columns.reading.type", "'text'"),
        (
            ('"features/readings/properties/value"', '"features/readings/value"'),
            "columns.reading",
            "features/<feature>/properties",
        ),
        (('"attributes/code"', '"attributes/co\\u00e9de"'), "columns.code", "U+00E9"),
        (
            ('tenant_column = "tenant"', 'tenant_column = "tenant"\ntenant = "acme"'),
            "(file)",
            "exactly one of tenant_column",
        ),
        (('kind = "gauge"', 'kind = "Gauge!"'), "kind", "pattern"),
        (
            ('key = ["tenant", "code"]', 'key = ["tenant", "serial"]'),
            "(file)",
            "'serial' must be mapped",
        ),
        (('definition = "{models_url}', 'definition = "{host}'), "(file)", "['host']"),
        (("scale = 2", "scale = -1"), "columns.reading.scale", "greater than or equal"),
        (
            ('path = "attributes/code"', 'path = "attributes/type"'),
            "(file)",
            "overlaps constant type",
        ),
        (('table = "gauges"', 'table = "gauges"\ncolour = "red"'), "colour", "Extra inputs"),
    ],
)
def test_errors_name_file_and_field(change: tuple[str, str], field: str, words: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(ConfigError) as caught:
        parse_mapping(text, "mappings/gauges.toml")
    message = str(caught.value)
    assert message.startswith("mappings/gauges.toml: ")
    assert f": {field}" in message and words in message


def test_overlapping_column_paths() -> None:
    text = (
        GOOD + '\n[columns.other]\npath = "features/readings/properties/value/raw"\ntype = "text"\n'
    )
    with pytest.raises(ConfigError, match="overlaps column 'reading'"):
        parse_mapping(text, "g.toml")


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(ConfigError, match=r"^x\.toml: not valid TOML"):
        parse_mapping("table = ", "x.toml")


def test_table_must_match_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "sensors.toml").write_text(GOOD)
    with pytest.raises(ConfigError, match="must match the file name"):
        load_mapping(tmp_path / "sensors.toml")


def test_unknown_table_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "gauges.toml").write_text(GOOD)
    assert mapping_for(tmp_path, "gauges").table == "gauges"
    with pytest.raises(ConfigError, match=r"no mapping for table 'pumps' \(known: gauges\)"):
        mapping_for(tmp_path, "pumps")


def test_a_missing_mappings_folder_is_named_with_its_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mappings folder is missing.*STREAMS_MAPPINGS_DIR"):
        load_mappings(tmp_path / "absent")
