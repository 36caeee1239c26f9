"""What `streams lag` prints: per group a status line, then a table of its partitions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from streams.ops.lag import GroupReport
from streams.ops.lag_status import Status, max_lag_seconds, total_lag

_STYLE = {
    Status.OK: "green",
    Status.WARNING: "yellow",
    Status.ERROR: "red",
    Status.STALLED: "red",
    Status.STOPPED: "red",
}


def age(seconds: float | None) -> str:
    """A time lag as people read it: 4.2s, 12.5m, 3.1h; `?` when it could not be read."""
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def lag_view(reports: Sequence[GroupReport]) -> Iterator[RenderableType]:
    for report in reports:
        yield _headline(report)
        yield _partitions(report)


def _headline(report: GroupReport) -> Text:
    last, verdict = report.last, report.verdict
    line = Text()
    line.append(f"{last.group} ", style="bold")
    line.append(str(verdict.status), style=_STYLE[verdict.status])
    line.append(
        f"  {last.state.lower()}, {last.members} member(s), lag {total_lag(last)}, "
        f"oldest {age(max_lag_seconds(last))}: {verdict.reason}"
    )
    return line


def _partitions(report: GroupReport) -> Table:
    table = Table(box=None, pad_edge=False)
    table.add_column("topic")
    for name in ("partition", "committed", "end", "lag", "age"):
        table.add_column(name, justify="right")
    for p in report.last.partitions:
        committed = "-" if p.committed is None else str(p.committed)
        table.add_row(
            p.topic, str(p.partition), committed, str(p.end), str(p.lag), age(p.lag_seconds)
        )
    return table
