"""The per-thing revision gate of the Ditto -> legacy direction.

Ditto numbers a thing's events 1, 2, 3, ... and never reuses a number, also not after a
delete and re-create (ditto.md §2.4). An event whose revision is not above the last one
applied is a redelivery or arrived late: drop it. One above is the normal case; more
than one above means events were missed, which the caller may want to repair by
reading the whole twin.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Apply:
    """Apply the event; `missed` revisions lie between the last applied and this one."""

    revision: int
    missed: int


@dataclass(frozen=True, slots=True)
class Drop:
    reason: str


def revision_gate(last_applied: int | None, revision: int) -> Apply | Drop:
    """Apply or drop an event of `revision`, given the thing's last applied revision."""
    if last_applied is None:
        return Apply(revision, 0)
    if revision <= last_applied:
        return Drop(f"revision {revision} <= last applied {last_applied}")
    return Apply(revision, revision - last_applied - 1)


__all__ = ["Apply", "Drop", "revision_gate"]
