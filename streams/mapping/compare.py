"""A legacy row against its twin, path by path over what the mapping writes, and the merge
patch that makes the twin right again.

Only mapped paths count: `policyId`, `definition`, the constant attributes, each modelled
feature, and each column's path. Anything else in the twin is not the mapping's business.
Values are compared as the column's type says: NUMERIC exactly as decimals (450 equals
450.000, 2.875 does not equal 2.876), timestamps as instants, text as text. A twin read
with floats gets each float through its shortest text, never through binary arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from streams.cdc import ColumnType, parse_date, parse_timestamp
from streams.errors import DecodeError
from streams.mapping._paths import Path, set_path, text
from streams.mapping.convert import render_columns
from streams.mapping.spec import TableMapping

_ABSENT = object()


class DiffKind(StrEnum):
    MISSING_TWIN = "missing-twin"
    VALUE = "value-differs"
    PATH_MISSING = "path-missing"
    TYPE = "type-differs"


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """One mapped path whose twin value is not the legacy row's (None: absent or NULL)."""

    path: str
    kind: DiffKind
    legacy: Any
    twin: Any
    column: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind.value,
            "column": self.column,
            "legacy": self.legacy,
            "twin": self.twin,
        }


def compare(
    mapping: TableMapping, row: Mapping[str, Any], expected: Mapping[str, Any], twin: Any
) -> list[FieldDiff]:
    """Differences of `twin` (None: Ditto has none) from `expected`, the row's mapped twin.

    A missing feature is one difference (its whole expected value); its properties are
    not listed again below it.
    """
    if twin is None:
        return [FieldDiff("/", DiffKind.MISSING_TWIN, expected.get("thingId"), None)]
    diffs = [
        diff
        for name in ("policyId", "definition")
        if (diff := _plain((name,), expected.get(name), twin)) is not None
    ]
    for name, value in mapping.constant_attributes.items():
        diff = _plain(("attributes", name), value, twin)
        diffs += [diff] if diff is not None else []
    missing_features = _missing_features(mapping, expected, twin)
    diffs += missing_features
    gone = {d.path.split("/")[1] for d in missing_features}
    for column, value in render_columns(mapping, row).items():
        segments = mapping.columns[column].segments
        if segments[0] == "features" and segments[1] in gone:
            continue
        diff = _column(segments, mapping.columns[column].type, value, twin)
        if diff is not None:
            diffs.append(FieldDiff(diff.path, diff.kind, diff.legacy, diff.twin, column))
    return diffs


def repair_patch(expected: Mapping[str, Any], diffs: list[FieldDiff]) -> dict[str, Any]:
    """The RFC 7396 merge patch that sets every differing path to its legacy value (a
    NULL column becomes JSON null, which removes the property)."""
    patch: dict[str, Any] = {}
    for diff in diffs:
        if diff.kind is DiffKind.MISSING_TWIN:
            raise ValueError("a missing twin is repaired by a modify of the whole twin")
        set_path(patch, tuple(diff.path.split("/")), diff.legacy)
    return patch


# -- one path ---------------------------------------------------------------------------


def _at(twin: Any, path: Path) -> Any:
    node = twin
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _plain(path: Path, legacy: Any, twin: Any) -> FieldDiff | None:
    """A value compared by its JSON type alone (ids, definition, constants)."""
    actual = _at(twin, path)
    if actual is _ABSENT:
        return FieldDiff(text(path), DiffKind.PATH_MISSING, legacy, None)
    if type(actual) is not type(legacy) and not _both_numbers(actual, legacy):
        return FieldDiff(text(path), DiffKind.TYPE, legacy, actual)
    if _as_decimal(actual) != _as_decimal(legacy):
        return FieldDiff(text(path), DiffKind.VALUE, legacy, actual)
    return None


def _missing_features(
    mapping: TableMapping, expected: Mapping[str, Any], twin: Any
) -> list[FieldDiff]:
    return [
        FieldDiff(f"features/{name}", DiffKind.PATH_MISSING, expected["features"][name], None)
        for name in mapping.features
        if not isinstance(_at(twin, ("features", name)), Mapping)
    ]


def _column(path: Path, kind: ColumnType, legacy: Any, twin: Any) -> FieldDiff | None:
    actual = _at(twin, path)
    where = text(path)
    if actual is _ABSENT or actual is None:
        if legacy is None:
            return None  # a NULL column is an absent property
        return FieldDiff(where, DiffKind.PATH_MISSING, legacy, None)
    if legacy is None:
        return FieldDiff(where, DiffKind.VALUE, None, actual)
    typed = _typed(kind, actual, where)
    if typed is _ABSENT:
        return FieldDiff(where, DiffKind.TYPE, legacy, actual)
    if typed != _typed(kind, legacy, where):
        return FieldDiff(where, DiffKind.VALUE, legacy, actual)
    return None


def _typed(kind: ColumnType, value: Any, where: str) -> Any:
    """The value as the column's type reads it, or _ABSENT when it is not of that type."""
    if kind in (ColumnType.NUMERIC, ColumnType.INTEGER):
        return _as_decimal(value) if _is_number(value) else _ABSENT
    if kind is ColumnType.BOOLEAN:
        return value if isinstance(value, bool) else _ABSENT
    if kind is ColumnType.TEXT:
        return value if isinstance(value, str) else _ABSENT
    try:
        if kind is ColumnType.TIMESTAMPTZ:
            return parse_timestamp(value, where)
        return parse_date(value, where)
    except DecodeError:
        return _ABSENT


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _both_numbers(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b)


def _as_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))  # the shortest text that reads back as this float
    if _is_number(value):
        return Decimal(value)
    return value


__all__ = ["DiffKind", "FieldDiff", "compare", "repair_patch"]
