"""Progress of a long phase on stderr, with its rate and the time it still needs.

On a terminal: a rich progress bar. Elsewhere (a log file, CI, a pipe): one line every
few seconds, so a log is not flooded and a slow run still shows it is alive. Either way
the phase ends with one summary line.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

LINE_EVERY_S = 5.0


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


class Meter:
    """Counts one phase (`what`, in `unit`) up to `total`, which may grow."""

    def __init__(self, what: str, total: int, unit: str, *, stream: TextIO | None = None) -> None:
        self._what, self._unit, self.total = what, unit, total
        self._stream = stream or sys.stderr
        self.done = 0
        self._start = self._last_line = time.monotonic()
        self._bar: Progress | None = None
        if self._stream.isatty():
            console = Console(file=self._stream)
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task(what, total=total)
            self._bar.start()
        else:
            self._line(f"{what}: {total:,} {unit} to go")

    def __enter__(self) -> Meter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(finished=kind is None)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._start

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, total=max(self.total, self.done))
        elif time.monotonic() - self._last_line >= LINE_EVERY_S:
            self._last_line = time.monotonic()
            self._line(self._status())

    def close(self, *, finished: bool = True) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        seconds = self.seconds
        rate = self.done / seconds if seconds > 0 else 0.0
        state = "" if finished else " (stopped)"
        self._line(
            f"{self._what}: {self.done:,} {self._unit} in {seconds:.1f}s ({rate:,.0f}/s){state}"
        )

    def _status(self) -> str:
        seconds = self.seconds
        rate = self.done / seconds if seconds > 0 else 0.0
        left = max(self.total - self.done, 0)
        eta = f", ETA {left / rate:.0f}s" if rate > 0 and self.total else ""
        return f"{self._what}: {self.done:,}/{self.total:,} {self._unit} ({rate:,.0f}/s{eta})"

    def _line(self, text: str) -> None:
        print(text, file=self._stream, flush=True)


__all__ = ["Meter"]
