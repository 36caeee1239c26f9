"""Ditto set up as code, the pure half: JSON templates filled from the settings, and the
drift between what a template asks for and what Ditto holds.

Templates use `${name}` placeholders, which cannot be mistaken for Ditto's own
`{{ thing:id }}` placeholders; both keys and values are filled, so a subject can be a key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import Any

from streams.errors import ConfigError

# Fields Ditto adds with a default when a request leaves them out (its model fills them
# in answers): present with exactly this value, they are no drift.
DITTO_DEFAULTS: Mapping[str, Any] = {
    "imports": {},
    "importable": "implicit",
    "name": None,
    "consumerCount": 1,
    "clientCount": 1,
    "failoverEnabled": True,
    "validateCertificates": True,
    "processorPoolSize": 1,
    "tags": [],
    "headerMapping": {},
    "mappingDefinitions": {},
    "payloadMapping": [],
}
# The entity's own id repeats the URL it is stored under; `_revision` and friends are
# Ditto's bookkeeping.
_IDENTITY_FIELDS = frozenset({"policyId", "id"})


def _fill_text(text: str, values: Mapping[str, str], source: Path) -> str:
    try:
        return Template(text).substitute(values)
    except KeyError as exc:
        known = ", ".join("${" + k + "}" for k in sorted(values))
        raise ConfigError(
            f"{source}: unknown placeholder ${{{exc.args[0]}}}; known: {known}"
        ) from exc
    except ValueError as exc:
        raise ConfigError(f"{source}: bad placeholder in {text!r} ({exc}); write $$ for $") from exc


def fill(template: Any, values: Mapping[str, str], source: Path) -> Any:
    """The template with every `${name}` in keys and string values replaced."""
    if isinstance(template, dict):
        return {_fill_text(k, values, source): fill(v, values, source) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(item, values, source) for item in template]
    if isinstance(template, str):
        return _fill_text(template, values, source)
    return template


def load_template(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    """A JSON object from a template file, filled; errors name the file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: template missing (STREAMS_DITTO_DEPLOY_DIR)") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a Ditto entity template must be a JSON object")
    filled: dict[str, Any] = fill(raw, values, path)
    return filled


def _extra_is_drift(key: str, value: Any) -> bool:
    if key.startswith("_") or key in _IDENTITY_FIELDS:
        return False
    return key not in DITTO_DEFAULTS or DITTO_DEFAULTS[key] != value


def _object_drift(desired: dict[str, Any], actual: dict[str, Any], path: str) -> list[str]:
    found: list[str] = []
    for key, value in desired.items():
        where = f"{path}/{key}"
        found += drift(value, actual[key], where) if key in actual else [where]
    for key, value in actual.items():
        if key not in desired and _extra_is_drift(key, value):
            found.append(f"{path}/{key}")
    return found


def drift(desired: Any, actual: Any, path: str = "") -> list[str]:
    """JSON paths where Ditto's entity differs from the template (empty: nothing to do)."""
    if isinstance(desired, dict) and isinstance(actual, dict):
        return _object_drift(desired, actual, path)
    if isinstance(desired, list) and isinstance(actual, list) and len(desired) == len(actual):
        pairs = zip(desired, actual, strict=True)
        return [p for i, (d, a) in enumerate(pairs) for p in drift(d, a, f"{path}/{i}")]
    # bool is an int in Python, but true is not 1 in JSON.
    same = desired == actual and type(desired) is type(actual)
    return [] if same else [path or "/"]


__all__ = ["DITTO_DEFAULTS", "drift", "fill", "load_template"]
