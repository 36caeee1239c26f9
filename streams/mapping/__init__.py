"""Mappings: legacy rows <-> Ditto twins, declared per table in mappings/<table>.toml."""

from __future__ import annotations

from streams.mapping._json import canonical, dumps, number_text
from streams.mapping.convert import (
    Identity,
    RowValues,
    canonical_image,
    change_to_row,
    diff_patch,
    identity,
    key_of,
    merge_patch,
    render_columns,
    thing_to_row,
    to_thing,
)
from streams.mapping.spec import (
    ColumnEntry,
    TableMapping,
    load_mapping,
    load_mappings,
    mapping_for,
    parse_mapping,
)
from streams.mapping.thing_id import Claim, build_thing_id, claim, slugify, validate_entity_id

__all__ = [
    "Claim",
    "ColumnEntry",
    "Identity",
    "RowValues",
    "TableMapping",
    "build_thing_id",
    "canonical",
    "canonical_image",
    "change_to_row",
    "claim",
    "diff_patch",
    "dumps",
    "identity",
    "key_of",
    "load_mapping",
    "load_mappings",
    "mapping_for",
    "merge_patch",
    "number_text",
    "parse_mapping",
    "render_columns",
    "slugify",
    "thing_to_row",
    "to_thing",
    "validate_entity_id",
]
