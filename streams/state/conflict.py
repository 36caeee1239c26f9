"""Conflicts between a row edit and a twin edit, and the phase's winner (pure).

What counts as a conflict, in the state the gates keep (all per thing id):
- every row holds `twin_revision`: the revision of the last twin change the sink wrote
  into it; a row edit's CDC image carries it;
- `written` (table phase-twin-written, kept by the Ditto -> legacy agent): per column,
  the revision of the last twin change it sent to the sink for that column.

A row edit L *crosses* a twin edit D on column c when D's value of c was sent to the sink
(written[c] = D's revision) but the row L changed did not hold it yet (the image's
`twin_revision` is older, or NULL), and L changed c too. Each side then changed c before
it saw the other's change: Ditto applied D before L (L's command is only being decided
now), Postgres committed L before the sink's write of D. Left alone, the sink writes D
over L in the row and L's command writes L over D in the twin: the two sides swap values.

The winner, by phase (streams.state.phase):
- Ditto: L's command leaves the crossing columns out; the sink's write of D then sets
  them in the row, so both sides hold D.
- legacy: L's command is sent whole, and its crossing columns are marked with its
  correlation id (table phase-crossings). Ditto applies L after D and sends L's echo;
  the Ditto -> legacy agent writes the marked columns from that echo into the row, over
  the sink's write of D (the echo's revision is newer), so both sides hold L. A later
  command that changes a marked column removes its mark: that change is newer on both
  sides, and writing L's old value back would undo it in the row.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from streams.mapping import TableMapping, change_to_row

Marks = dict[str, str]  # column -> correlation id of the command whose echo restores it
Written = dict[str, int]  # column -> revision of the last twin change sent to the sink


def is_merge(command: Mapping[str, Any]) -> bool:
    return str(command.get("topic", "")).endswith("/commands/merge")


def changed_columns(mapping: TableMapping, command: Mapping[str, Any]) -> list[str]:
    """The columns a merge command sets (a modify or delete crosses nothing we can tell)."""
    if not is_merge(command):
        return []
    return sorted(change_to_row(mapping, "/", command["value"], replace=False).values)


def crossing(
    changed: Iterable[str], row_revision: int | None, written: Mapping[str, int] | None
) -> list[str]:
    """The changed columns whose last twin change was sent but is not in the row yet."""
    if not written:
        return []
    seen = row_revision or 0
    return [c for c in changed if written.get(c, 0) > seen]


def without(
    mapping: TableMapping, command: Mapping[str, Any], columns: Iterable[str]
) -> dict[str, Any] | None:
    """The merge command without `columns`; None when nothing is left to merge."""
    patch = copy.deepcopy(command["value"])
    for column in columns:
        _remove(patch, mapping.columns[column].segments)
    return {**command, "value": patch} if patch else None


def _remove(tree: dict[str, Any], segments: tuple[str, ...]) -> None:
    head, *rest = segments
    if head not in tree:
        return
    if rest and isinstance(tree[head], dict):
        _remove(tree[head], tuple(rest))
        if tree[head]:
            return
    del tree[head]


def marks_after(
    previous: Mapping[str, str] | None,
    changed: Iterable[str],
    crossed: Iterable[str],
    correlation_id: str,
) -> Marks:
    """Marks once a command that changed `changed` is sent (legacy wins `crossed`)."""
    marks = dict(previous or {})
    for column in changed:
        marks.pop(column, None)
    marks.update(dict.fromkeys(crossed, correlation_id))
    return marks


def marked(marks: Mapping[str, str] | None, correlation_id: str | None) -> list[str]:
    """The columns an echo with this correlation id must write back into the row."""
    if not marks or correlation_id is None:
        return []
    return sorted(c for c, k in marks.items() if k == correlation_id)


def written_after(
    previous: Mapping[str, int] | None, columns: Iterable[str], revision: int
) -> Written:
    written = dict(previous or {})
    written.update(dict.fromkeys(columns, revision))
    return written


__all__ = [
    "Marks",
    "Written",
    "changed_columns",
    "crossing",
    "is_merge",
    "marked",
    "marks_after",
    "without",
    "written_after",
]
