"""Where ours spends its time: the flow alone in-process, and optionally the whole worker.

1. `flow_only` times streams.state.legacy_flow over the bench records with dict stores
   (no Kafka, no Faust, no RocksDB): the ceiling of the pure transform, then profiles
   it with cProfile and sums own time by stage.
2. `Sampler` attaches py-spy (a sampling profiler, not a dependency of the project;
   pass its path) to the running worker while it processes, and sums the samples by
   library: how much is our code, Faust, aiokafka, RocksDB, asyncio.
"""

from __future__ import annotations

import cProfile
import pstats
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.cdc import CdcRecord
from streams.config import Settings
from streams.ditto.protocol import encode
from streams.mapping import load_mappings
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.legacy_flow import Commands, LegacyFlow

# Own time is attributed to the first area whose marker occurs in the file path.
AREAS = (
    ("streams/cdc", "decode (streams.cdc)"),
    ("streams/mapping", "map (streams.mapping)"),
    ("streams/ditto", "command (streams.ditto)"),
    ("streams/state", "key state (streams.state)"),
    ("streams/agents", "agent glue (streams.agents)"),
    ("streams/", "other streams code"),
    ("faust/", "faust"),
    ("mode/", "mode (faust's service runtime)"),
    ("aiokafka/", "aiokafka"),
    ("kafka/", "aiokafka"),
    ("rocksdict", "rocksdb"),
    ("json/", "json (stdlib)"),
    ("decimal", "decimal (stdlib)"),
    ("asyncio/", "asyncio event loop"),
    ("prometheus_client", "prometheus metrics"),
    ("logging/", "logging"),
)
# Stacks containing these frames count towards the named step (inclusive time).
STEPS = (
    ("handle (streams/agents/legacy_to_ditto.py", "agent handler, all of it"),
    ("process (streams/state/legacy_flow.py", "  flow.process (decode, map, decide)"),
    ("ManagedUserDict.__setitem__ (mode/utils/collections.py", "  table writes"),
    ("_send_command (streams/agents/legacy_to_ditto.py", "  command send"),
    ("encode (streams/ditto/protocol.py", "    command encode (JSON)"),
    ("_on_published (faust/topics.py", "faust's per-record send callbacks"),
    ("set_persisted_offset (faust/stores/rocksdb.py", "  RocksDB offset write per changelog"),
    ("(aiokafka/", "aiokafka (fetch, produce, network)"),
)


def area_of(path: str) -> str:
    for marker, area in AREAS:
        if marker in path:
            return area
    return "other"


@dataclass(frozen=True)
class FlowProfile:
    events: int
    seconds: float
    cpu_seconds: float
    by_area: dict[str, float]
    top: list[tuple[str, float]]

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.cpu_seconds / self.events if self.events else 0.0


def _run_flow(flow: LegacyFlow, records: list[CdcRecord]) -> int:
    """What the agent's handler does per record, minus Kafka: process, then encode."""
    states: dict[str, Any] = {}
    owners: dict[str, str] = {}
    commands = 0
    for record in records:
        outcome = flow.process(record, states, owners)
        if isinstance(outcome, Commands):
            for command in outcome.commands:
                encode(command)
                commands += 1
    return commands


def flow_only(settings: Settings, records: list[CdcRecord], top: int = 12) -> FlowProfile:
    mappings = load_mappings(settings.mappings_dir)

    def fresh() -> LegacyFlow:
        return LegacyFlow(mappings, models_url=settings.thing_models_url, sync_origin=SYNC_ORIGIN)

    started, cpu = time.perf_counter(), time.process_time()
    _run_flow(fresh(), records)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    profiler = cProfile.Profile()
    profiler.runcall(_run_flow, fresh(), records)
    by_area, ranked = _summarise(pstats.Stats(profiler))
    return FlowProfile(len(records), seconds, cpu, by_area, ranked[:top])


def _summarise(stats: pstats.Stats) -> tuple[dict[str, float], list[tuple[str, float]]]:
    functions = stats.get_stats_profile().func_profiles
    total = sum(f.tottime for f in functions.values()) or 1.0
    by_area: dict[str, float] = {}
    ranked = []
    for name, function in functions.items():
        own = function.tottime / total
        area = area_of(function.file_name)
        by_area[area] = by_area.get(area, 0.0) + own
        ranked.append((f"{_short(function.file_name)}:{function.line_number} {name}", own))
    ranked.sort(key=lambda item: item[1], reverse=True)
    return dict(sorted(by_area.items(), key=lambda item: -item[1])), ranked


def _short(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


class Sampler:
    """py-spy attached to one process; `stop` ends it and returns the sample summary."""

    def __init__(self, py_spy: Path, pid: int, out: Path) -> None:
        self._out = out
        self._log = out.with_suffix(".log")
        command = [str(py_spy), "record", "--pid", str(pid), "--format", "raw"]
        # Non-blocking: the worker is never paused, so sampling does not slow it down.
        command += ["--rate", "200", "--nonblocking", "--output", str(out)]
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> dict[str, Any]:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGINT)
            self._proc.wait(60)
        if not self._out.is_file():
            return {"error": f"py-spy wrote no samples: see {self._log}"}
        return summarise_raw(self._out.read_text())


def summarise_raw(text: str) -> dict[str, Any]:
    """py-spy raw output (`frame;frame;... count` per line) as shares of all samples."""
    own: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf = stack.rsplit(";", 1)[-1]
        own[area_of(leaf)] += count
        leaves[leaf] += count
        for marker, step in STEPS:
            if marker in stack:
                steps[step] += count
    share = 1 / (total or 1)
    return {
        "samples": total,
        "own_by_area": {k: v * share for k, v in own.most_common()},
        "inclusive_steps": {step: steps[step] * share for _, step in STEPS},
        "top_leaves": [(k, v * share) for k, v in leaves.most_common(12)],
    }


__all__ = ["FlowProfile", "Sampler", "area_of", "flow_only", "summarise_raw"]
