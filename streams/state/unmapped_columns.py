"""Columns a schema change added that no mapping names: reported once each.

The Avro decoder calls this for every value schema it meets for the first time (a new
schema id after each schema change). A column the table's mapping does not name is
carried in the row but never reaches the twin: worth telling the operator once (a
mapping may want it), never worth a dead letter or a log line per record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from streams.cdc.avro import WriterSchema, row_columns
from streams.mapping import TableMapping

Report = Callable[[str, str], None]


class UnmappedColumns:
    """Calls `report(table, column)` once per column no mapping names, for its life."""

    def __init__(self, mappings: Mapping[str, TableMapping], report: Report) -> None:
        self._mapped = {t: set(m.columns) | set(m.key) for t, m in mappings.items()}
        self._report = report
        self._reported: set[tuple[str, str]] = set()
        # Columns present when the first schema of a table was seen are the table as
        # the mapping was written against; only later additions are news.
        self._known: dict[str, set[str]] = {}

    def __call__(self, table: str, writer: WriterSchema) -> None:
        mapped = self._mapped.get(table)
        if mapped is None:
            return
        columns = set(row_columns(writer))
        known = self._known.setdefault(table, columns)
        for column in sorted(columns - known - mapped):
            if (table, column) not in self._reported:
                self._reported.add((table, column))
                self._report(table, column)
        known |= columns


__all__ = ["UnmappedColumns"]
