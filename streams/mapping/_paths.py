"""Ditto JSON paths (`attributes/name`, `features/f/properties/p/q`) as key tuples."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Path = tuple[str, ...]

_FORBIDDEN_KEY = re.compile(r"[\x00-\x1f\x7f-\xff]")


def key_problem(key: str) -> str | None:
    """Why Ditto would refuse `key` as an attribute, feature or property key, or None."""
    if not key:
        return "an empty key"
    if len(key) > 256:
        return f"key {key[:20]!r}... is longer than 256 characters"
    bad = _FORBIDDEN_KEY.search(key)
    if bad:
        return f"key {key!r} contains U+{ord(bad.group()):04X} (control or U+007F-U+00FF)"
    return None


def parse_path(text: str) -> Path:
    """`attributes/x` or `features/<id>/properties/<p>[/...]` -> tuple; ValueError if not."""
    parts = tuple(text.strip("/").split("/"))
    for part in parts:
        problem = key_problem(part)
        if problem:
            raise ValueError(f"path {text!r}: {problem}")
    if parts[0] == "attributes" and len(parts) >= 2:
        return parts
    if parts[0] == "features" and len(parts) >= 4 and parts[2] == "properties":
        return parts
    raise ValueError(
        f"path {text!r} must be attributes/<name>[/...] or "
        "features/<feature>/properties/<name>[/...]"
    )


def pointer_to_path(pointer: str) -> Path:
    """A Ditto Protocol JSON pointer (`/features/f/properties/p`) -> key tuple."""
    if pointer in ("", "/"):
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/"))


def set_path(target: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path`, creating the objects on the way."""
    node = target
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def nest(path: Path, value: Any) -> Any:
    """The value placed at `path` inside empty objects: nest(("a","b"), 1) -> {"a":{"b":1}}."""
    for part in reversed(path):
        value = {part: value}
    return value


def leaves(value: Any, prefix: Path = ()) -> list[tuple[Path, Any]]:
    """Every non-object value of a JSON tree with its path; an empty object is a leaf too."""
    if isinstance(value, Mapping) and value:
        found: list[tuple[Path, Any]] = []
        for key, item in value.items():
            found.extend(leaves(item, (*prefix, str(key))))
        return found
    return [(prefix, value)]


def text(path: Path) -> str:
    return "/".join(path)


__all__ = ["Path", "key_problem", "leaves", "nest", "parse_path", "pointer_to_path", "set_path"]
