"""What `streams validate` prints: counts per table, the differing fields, the repairs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from streams.mapping import dumps
from streams.ops.validate import Report

WIDTH = 48  # characters of a value shown in the table (--json has them whole)
MAX_ROWS = 50  # differing fields listed in the table (--json lists every one)


def validate_view(report: Report) -> Iterator[RenderableType]:
    yield _tallies(report)
    if report.wrong:
        yield Text("")
        yield _diffs(report)
    if report.unmappable:
        yield Text("")
        yield _unmappable(report)
    if report.repairs is not None:
        yield Text("")
        yield _repairs(report)
    yield Text("")
    yield _summary(report)


def _tallies(report: Report) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("table")
    for name in ("checked", "equal", "differing", "missing", "unmappable"):
        table.add_column(name, justify="right")
    for name, t in report.tallies.items():
        cells = (t.checked, t.equal, t.differing, t.missing, t.unmappable)
        table.add_row(name, *(str(c) for c in cells))
    return table


def _shown(value: Any, absent: str) -> str:
    if value is None:
        return absent
    text = value if isinstance(value, str) else dumps(value)
    return text if len(text) <= WIDTH else text[: WIDTH - 3] + "..."


def _diffs(report: Report) -> Table:
    table = Table(box=None, pad_edge=False)
    for name in ("thing id", "path", "kind", "legacy", "twin"):
        table.add_column(name)
    # Fields that differ first: a long run of missing twins would hide them.
    shown = sorted(
        ((row.thing_id, diff) for row in report.wrong for diff in row.diffs),
        key=lambda item: item[1].path == "/",
    )
    for thing_id, diff in shown[:MAX_ROWS]:
        legacy = "(whole twin)" if diff.path == "/" else _shown(diff.legacy, "(null)")
        table.add_row(thing_id, diff.path, diff.kind.value, legacy, _shown(diff.twin, "(absent)"))
    if len(shown) > MAX_ROWS:
        table.add_row(f"... {len(shown) - MAX_ROWS} more (--json lists all)", "", "", "", "")
    return table


def _unmappable(report: Report) -> Table:
    table = Table(box=None, pad_edge=False)
    for name in ("table", "key", "no twin because"):
        table.add_column(name)
    for item in report.unmappable:
        table.add_row(item.table, item.key, item.reason)
    return table


def _repairs(report: Report) -> Table:
    table = Table(box=None, pad_edge=False)
    for name in ("thing id", "command", "ditto", "after"):
        table.add_column(name)
    for r in report.repairs or ():
        after = "fixed" if r.fixed else r.error or f"{len(r.remaining)} difference(s) remain"
        table.add_row(r.thing_id, r.command, str(r.status or "-"), after)
    return table


def _summary(report: Report) -> Text:
    rate = report.checked / report.seconds if report.seconds > 0 else 0.0
    wrong = len(report.wrong)
    missing = sum(1 for r in report.wrong if r.missing)
    line = Text(f"{report.checked} rows checked in {report.seconds:.1f}s ({rate:.0f} rows/s): ")
    if not wrong:
        line.append("0 differences", style="green")
    else:
        line.append(
            f"{report.differences} difference(s) in {wrong} twin(s), {missing} missing",
            style="red",
        )
    if report.repairs is not None:
        fixed = sum(1 for r in report.repairs if r.fixed)
        line.append(f"; repaired {fixed} of {len(report.repairs)}")
    if report.seed is not None:
        line.append(f" (sample seed {report.seed})")
    return line
