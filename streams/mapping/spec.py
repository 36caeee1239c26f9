"""Mapping files: one TOML file per table in mappings/<table>.toml, checked by pydantic.

A mapping says which table becomes which kind of twin, how the thing id, policy id and
definition are formed, which attributes are constant, and where each column goes:

    table = "wells"
    kind = "well"
    key = ["tenant", "well_code"]
    tenant_column = "tenant"
    thing_id = "{tenant}:{kind}-{key}"
    policy_id = "{tenant}:default-policy"
    definition = "{models_url}/well-1.0.0.tm.jsonld"

    [constant_attributes]
    type = "WELL"

    [columns]
    name = { path = "attributes/name", type = "text" }

Errors name the file and the field, e.g. `mappings/wells.toml: columns.name.type: ...`.
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path as FsPath
from string import Formatter
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from streams.cdc import ColumnSpec, ColumnType
from streams.errors import ConfigError
from streams.mapping._paths import Path, parse_path

_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
Scalar = str | int | float | bool


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name is not None}


def _check_template(template: str, allowed: set[str], required: set[str], what: str) -> None:
    try:
        used = _placeholders(template)
    except ValueError as exc:
        raise ValueError(f"{what} {template!r} is not a valid template: {exc}") from exc
    if used - allowed:
        raise ValueError(
            f"{what} uses unknown placeholder(s) {sorted(used - allowed)}; "
            f"allowed: {sorted(allowed)}"
        )
    if required - used:
        raise ValueError(f"{what} must contain {sorted('{' + r + '}' for r in required)}")


class ColumnEntry(BaseModel):
    """Where one column goes in the twin, and its type."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str = Field(description="attributes/<name> or features/<f>/properties/<name>")
    type: ColumnType = Field(description="text, numeric, integer, timestamptz, date, boolean")
    scale: Annotated[int, Field(ge=0)] | None = Field(
        None, description="NUMERIC scale, needed only for precise decimals without a schema"
    )

    @model_validator(mode="after")
    def _valid(self) -> Self:
        parse_path(self.path)
        if self.scale is not None and self.type is not ColumnType.NUMERIC:
            raise ValueError("scale is only meaningful for type numeric")
        return self

    @cached_property
    def segments(self) -> Path:
        return parse_path(self.path)

    @cached_property
    def spec(self) -> ColumnSpec:
        return ColumnSpec(self.type, self.scale)


class TableMapping(BaseModel):
    """One legacy table -> one kind of twin."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: Annotated[str, Field(pattern=_IDENT)]
    kind: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    key: Annotated[list[Annotated[str, Field(pattern=_IDENT)]], Field(min_length=1)]
    tenant_column: str | None = None
    tenant: str | None = None
    thing_id: str = "{tenant}:{kind}-{key}"
    policy_id: str = "{tenant}:default-policy"
    definition: str
    constant_attributes: dict[str, Scalar] = {}
    columns: Annotated[dict[str, ColumnEntry], Field(min_length=1)]
    source: str = Field("", exclude=True, description="the file it came from")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        self._check_tenant()
        _check_template(self.thing_id, {"tenant", "kind", "key"}, {"tenant", "key"}, "thing_id")
        _check_template(self.policy_id, {"tenant", "kind"}, {"tenant"}, "policy_id")
        _check_template(self.definition, {"models_url", "kind"}, set(), "definition")
        for column in self.business_key:
            if column not in self.columns:
                raise ValueError(
                    f"key column {column!r} must be mapped to a path (the original key stays "
                    "an attribute, and the way back to the row needs it)"
                )
        self._check_paths()
        return self

    def _check_tenant(self) -> None:
        if (self.tenant_column is None) == (self.tenant is None):
            raise ValueError("give exactly one of tenant_column (a key column) or tenant")
        if self.tenant_column is not None and self.tenant_column not in self.key:
            raise ValueError(f"tenant_column {self.tenant_column!r} must be one of key")
        if not self.business_key:
            raise ValueError("key needs at least one column besides the tenant")

    def _check_paths(self) -> None:
        owners: dict[Path, str] = {
            ("attributes", n): f"constant {n}" for n in self.constant_attributes
        }
        for column, entry in self.columns.items():
            owners_conflict = [
                who
                for path, who in owners.items()
                if path[: len(entry.segments)] == entry.segments
                or entry.segments[: len(path)] == path
            ]
            if owners_conflict:
                raise ValueError(
                    f"column {column!r} path {entry.path!r} overlaps {owners_conflict[0]}"
                )
            owners[entry.segments] = f"column {column!r}"

    # -- derived views --------------------------------------------------------------

    @property
    def business_key(self) -> list[str]:
        """The key columns that name the row within a tenant."""
        return [c for c in self.key if c != self.tenant_column]

    @property
    def features(self) -> list[str]:
        """Feature ids in file order; every twin carries all of them (WoT presence rule)."""
        seen: dict[str, None] = {}
        for entry in self.columns.values():
            if entry.segments[0] == "features":
                seen.setdefault(entry.segments[1], None)
        return list(seen)

    @property
    def column_types(self) -> dict[str, ColumnSpec]:
        """What the decoder needs for events without a schema (key columns included)."""
        types = {c: e.spec for c, e in self.columns.items()}
        if self.tenant_column is not None:
            types.setdefault(self.tenant_column, ColumnSpec(ColumnType.TEXT))
        return types

    def definition_url(self, models_url: str) -> str:
        return self.definition.format(models_url=models_url.rstrip("/"), kind=self.kind)


def _error_text(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "(file)"
        lines.append(f"{source}: {where}: {err['msg']}")
    return "\n".join(lines)


def parse_mapping(text: str, source: str) -> TableMapping:
    """A mapping from TOML text; ConfigError names `source` and the field."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return TableMapping.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(_error_text(source, exc)) from exc


def load_mapping(path: FsPath) -> TableMapping:
    """One mapping file; its `table` must match the file name."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the mapping file: {exc.strerror}") from exc
    mapping = parse_mapping(text, str(path))
    if mapping.table != path.stem:
        raise ConfigError(f"{path}: table: {mapping.table!r} must match the file name")
    return mapping


def load_mappings(folder: FsPath) -> dict[str, TableMapping]:
    """Every `<table>.toml` of a folder, by table."""
    if not folder.is_dir():
        raise ConfigError(
            f"{folder}: the mappings folder is missing; create it or point "
            "STREAMS_MAPPINGS_DIR at the folder of <table>.toml files"
        )
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(f"{folder}: no mapping files (<table>.toml) found")
    return {m.table: m for m in (load_mapping(f) for f in files)}


def mapping_for(folder: FsPath, table: str) -> TableMapping:
    """The mapping of one table, with an error that lists the ones that exist."""
    if not re.fullmatch(_IDENT, table):
        raise ConfigError(f"table {table!r} is not a table name")
    path = folder / f"{table}.toml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml"))) or "none"
        raise ConfigError(f"{path}: no mapping for table {table!r} (known: {known})")
    return load_mapping(path)


__all__ = [
    "ColumnEntry",
    "TableMapping",
    "load_mapping",
    "load_mappings",
    "mapping_for",
    "parse_mapping",
]
