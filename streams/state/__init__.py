"""Per-key and per-thing gates: pure decisions over the plain values the agents store."""

from __future__ import annotations

from streams.state.keys import Decision, Duplicate, Emit, KeyState, NoChange, decide
from streams.state.revision import Apply, Drop, revision_gate

__all__ = [
    "Apply",
    "Decision",
    "Drop",
    "Duplicate",
    "Emit",
    "KeyState",
    "NoChange",
    "decide",
    "revision_gate",
]
