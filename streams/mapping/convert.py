"""Row -> thing, row diff -> merge patch, and thing or patch -> row (the exact inverse on
mapped fields). Values follow the mapping.md rules: a NULL column is an absent property
(a JSON null in a merge), NUMERIC stays exact, timestamps are ISO-8601 UTC with `Z`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from decimal import Decimal
from typing import Any

from streams.cdc import ColumnType, coerce, parse_date, parse_timestamp
from streams.errors import DecodeError, MappingError
from streams.mapping._json import canonical
from streams.mapping._paths import Path, leaves, pointer_to_path, set_path, text
from streams.mapping.spec import ColumnEntry, TableMapping
from streams.mapping.thing_id import build_thing_id, validate_entity_id

# Ditto 3.3+: a merge-patch key `{{ ~regex~ }}` with null deletes matching siblings.
_REGEX_KEY = re.compile(r"^\{\{\s*~(.*)~\s*\}\}$")
_IGNORED_TOP = frozenset({"thingId", "policyId", "definition", "_policy", "_metadata"})


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a row is in Ditto: thing id, policy id, tenant and the original business key."""

    thing_id: str
    policy_id: str
    tenant: str
    business_key: str


# -- row -> JSON values ---------------------------------------------------------------


def render(value: Any, entry: ColumnEntry, what: str) -> Any:
    """One column value -> its JSON value (Decimal stays Decimal: see `dumps`)."""
    try:
        typed = coerce(value, entry.spec, what)
    except DecodeError as exc:
        raise MappingError(str(exc)) from exc
    if typed is None:
        return None
    if entry.type is ColumnType.NUMERIC and not typed.is_finite():
        raise MappingError(f"{what}: {typed} has no JSON form; store a number or NULL")
    if entry.type is ColumnType.TIMESTAMPTZ:
        return typed.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if entry.type is ColumnType.DATE:
        return typed.isoformat()
    return typed


def render_columns(mapping: TableMapping, row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON value of every mapped column present in `row` (NULL -> None)."""
    return {
        column: render(row[column], entry, f"{mapping.table}.{column}")
        for column, entry in mapping.columns.items()
        if column in row
    }


def canonical_image(rendered: Mapping[str, Any]) -> dict[str, str]:
    """Column -> comparable JSON text; what the per-key state stores."""
    return {column: canonical(value) for column, value in rendered.items()}


def identity(mapping: TableMapping, key: Mapping[str, Any]) -> Identity:
    """Thing and policy id from the key columns (a MappingError names a missing one)."""
    missing = [c for c in mapping.key if key.get(c) is None]
    if missing:
        raise MappingError(f"{mapping.table}: key column(s) {missing} missing or NULL")
    tenant = str(key[mapping.tenant_column]) if mapping.tenant_column else mapping.tenant
    assert tenant is not None  # the mapping validator guarantees one of the two
    business = "-".join(str(key[c]) for c in mapping.business_key)
    thing_id = build_thing_id(mapping.thing_id, tenant=tenant, kind=mapping.kind, key=business)
    policy = mapping.policy_id.format(tenant=tenant, kind=mapping.kind)
    return Identity(thing_id, validate_entity_id(policy, what="policy id"), tenant, business)


def key_of(mapping: TableMapping, *images: Mapping[str, Any] | None) -> dict[str, Any]:
    """The key columns, from the first image (key, after, before) that holds each."""
    found: dict[str, Any] = {}
    for column in mapping.key:
        for image in images:
            if image is not None and image.get(column) is not None:
                found[column] = image[column]
                break
    return found


def merge_patch(mapping: TableMapping, rendered: Mapping[str, Any]) -> dict[str, Any]:
    """Column -> JSON value (None = delete) as a nested RFC 7396 patch."""
    patch: dict[str, Any] = {}
    for column, value in rendered.items():
        set_path(patch, mapping.columns[column].segments, value)
    return patch


def to_thing(
    mapping: TableMapping,
    row: Mapping[str, Any],
    *,
    models_url: str,
    key: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole twin of a row: ids, definition, constants, every feature, mapped values."""
    who = identity(mapping, key_of(mapping, key, row))
    thing: dict[str, Any] = {
        "thingId": who.thing_id,
        "policyId": who.policy_id,
        "definition": mapping.definition_url(models_url),
        "attributes": dict(mapping.constant_attributes),
        # All modelled features are present even when empty: Ditto's WoT validation
        # rejects a twin that lacks a feature its thing model declares.
        "features": {f: {"properties": {}} for f in mapping.features},
    }
    for column, value in render_columns(mapping, row).items():
        if value is not None:  # a NULL column is an absent property
            set_path(thing, mapping.columns[column].segments, value)
    return thing


def diff_patch(
    mapping: TableMapping, old_row: Mapping[str, Any] | None, new_row: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge patch of the mapped columns whose JSON value differs (all present if no old)."""
    new = render_columns(mapping, new_row)
    if old_row is None:
        return merge_patch(mapping, new)
    old = canonical_image(render_columns(mapping, old_row))
    changed = {c: v for c, v in new.items() if old.get(c) != canonical(v)}
    return merge_patch(mapping, changed)


# -- thing / patch -> row ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowValues:
    """Columns to write (None = NULL) and the twin paths no mapping names (reported)."""

    values: dict[str, Any]
    unmapped: tuple[str, ...]


def parse_back(value: Any, entry: ColumnEntry, what: str) -> Any:
    """A twin's JSON value -> the column's Python value, or a MappingError."""
    if value is None:
        return None
    try:
        parsed = _PARSERS[entry.type](value, what)
    except DecodeError as exc:
        raise MappingError(str(exc)) from exc
    if entry.type is ColumnType.NUMERIC and entry.scale is not None:
        _fits_scale(parsed, entry.scale, what)
    return parsed


def _fits_scale(number: Decimal, scale: int, what: str) -> None:
    """Postgres would round a value with more decimals than the column's scale: the row
    and the twin would then differ for good, silently."""
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        raise MappingError(
            f"{what}: {number} has more than the {scale} decimals its column holds; "
            f"write it rounded to {scale} decimals in Ditto, or widen the column and "
            "its mapping's scale"
        )


def _numeric(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise MappingError(f"{what}: expected a number, got {value!r}")
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _integer(value: Any, what: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{what}: expected an integer, got {value!r}")
    return value


def _of(kind: type, name: str) -> Any:
    def check(value: Any, what: str) -> Any:
        if isinstance(value, kind):
            return value
        raise MappingError(f"{what}: expected {name}, got {value!r}")

    return check


_PARSERS: dict[ColumnType, Any] = {
    ColumnType.TEXT: _of(str, "a string"),
    ColumnType.BOOLEAN: _of(bool, "true or false"),
    ColumnType.NUMERIC: _numeric,
    ColumnType.INTEGER: _integer,
    ColumnType.TIMESTAMPTZ: parse_timestamp,
    ColumnType.DATE: parse_date,
}


def _lookup(node: Any, rel: Path, merge: bool, where: str) -> tuple[bool, Any]:
    """Walk `rel` into a JSON value: (found, value); a null on the way is a found None."""
    for step, part in enumerate(rel):
        if node is None:
            return True, None
        if not isinstance(node, Mapping):
            raise MappingError(f"{where}: expected an object at {text(rel[:step]) or '/'}")
        if part in node:
            node = node[part]
            continue
        if merge and _regex_deleted(node, part):
            return True, None
        return False, None
    return True, node


def _regex_deleted(node: Mapping[str, Any], key: str) -> bool:
    for candidate, value in node.items():
        match = _REGEX_KEY.match(candidate)
        if match and value is None and re.fullmatch(match.group(1), key):
            return True
    return False


def _relevant(path: Path, value: Any) -> Any:
    # At the thing root only attributes and features carry mapped data.
    if path or not isinstance(value, Mapping):
        return value
    return {k: v for k, v in value.items() if k in ("attributes", "features")}


def change_to_row(
    mapping: TableMapping, pointer: str, value: Any, *, replace: bool, thing_id: str = ""
) -> RowValues:
    """The columns a twin change at `pointer` sets.

    `replace` (created/modified/deleted events): every mapped column under the pointer
    is set, absent ones to NULL. Otherwise (merged): only the columns the patch names.
    """
    path = pointer_to_path(pointer)
    value = _relevant(path, value)
    where = f"{thing_id or mapping.table} {pointer}"
    values: dict[str, Any] = {}
    for column, entry in mapping.columns.items():
        seg = entry.segments
        if seg[: len(path)] == path:
            found, item = _lookup(value, seg[len(path) :], not replace, where)
            if found or replace:
                values[column] = parse_back(item, entry, f"{where}: {entry.path}")
        elif path[: len(seg)] == seg:
            raise MappingError(f"{where}: the path lies inside column {column!r}'s value")
    return RowValues(values, _unmapped(mapping, path, value))


def _unmapped(mapping: TableMapping, path: Path, value: Any) -> tuple[str, ...]:
    known = [e.segments for e in mapping.columns.values()]
    known += [("attributes", name) for name in mapping.constant_attributes]
    report = []
    for leaf, item in leaves(value, path):
        if _ignored(leaf) or (item is None and not leaf):
            continue
        if not any(k[: len(leaf)] == leaf or leaf[: len(k)] == k for k in known):
            report.append(text(leaf))
    return tuple(report)


def _ignored(leaf: Path) -> bool:
    if leaf and (leaf[0] in _IGNORED_TOP or leaf[0].startswith("_")):
        return True
    if len(leaf) >= 3 and leaf[0] == "features" and leaf[2] == "definition":
        return True
    return any(_REGEX_KEY.match(part) for part in leaf)


def thing_to_row(mapping: TableMapping, thing: Mapping[str, Any]) -> RowValues:
    """A whole twin -> the full row of mapped columns plus the key columns."""
    thing_id = str(thing.get("thingId", ""))
    row = change_to_row(mapping, "/", thing, replace=True, thing_id=thing_id)
    values = dict(row.values)
    if mapping.tenant_column is not None:
        namespace, sep, _ = thing_id.partition(":")
        if not sep:
            raise MappingError(f"twin {thing_id!r} has no namespace to take the tenant from")
        values[mapping.tenant_column] = namespace
    missing = [c for c in mapping.business_key if values.get(c) is None]
    if missing:
        paths = [mapping.columns[c].path for c in missing]
        raise MappingError(f"twin {thing_id!r} lacks {paths}, the way back to its row's key")
    return RowValues(values, row.unmapped)


__all__ = [
    "Identity",
    "RowValues",
    "canonical_image",
    "change_to_row",
    "diff_patch",
    "identity",
    "key_of",
    "merge_patch",
    "parse_back",
    "render",
    "render_columns",
    "thing_to_row",
    "to_thing",
]
