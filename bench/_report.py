"""What the legacy -> Ditto bench prints and writes: runs, medians, ratios, profiles."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console

from bench._profile import FlowProfile

GOAL = 0.80
EXTRA_WORK = (
    "decode the Debezium JSON envelope and its typed columns (decimals, timestamps)",
    "map the row: thing id from the key, attributes and feature properties, policy",
    "claim the thing id for its key (thing-id-owner table)",
    "read and write the key's state: last record, LSN, canonical image (cdc-key-state)",
    "each table write: a RocksDB put plus a changelog record to Kafka",
    "encode a Ditto Protocol modify command with its headers, keyed by thing id",
)
LABELS = {
    "ours": "streams worker: decode, map, key state, command",
    "faust": "Faust copy agent, our app's settings, no work",
    "plain": "confluent-kafka consume -> produce loop (CPU: whole process)",
    "tuned": "streams worker with {env}",
}
RATIOS = (("ours", "plain"), ("faust", "plain"), ("ours", "faust"), ("tuned", "ours"))

console = Console()
_STARTED = time.monotonic()


def say(text: str) -> None:
    """One progress line, with the seconds since the bench started."""
    console.print(f"[{time.monotonic() - _STARTED:6.1f}s] {text}")


@dataclass(frozen=True)
class Run:
    """One contestant in one round."""

    contestant: str
    round: int
    records: int
    distinct_keys: int
    seconds: float
    events_per_s: float
    dead_letters: int = 0
    cpu_ms_per_event: float | None = None
    actions: dict[str, int] | None = None
    changelog_records: int | None = None


def print_run(run: Run) -> None:
    cpu = "" if run.cpu_ms_per_event is None else f", {run.cpu_ms_per_event:.3f} CPU ms/event"
    dead = f", {run.dead_letters} dead letters" if run.dead_letters else ""
    say(
        f"round {run.round} {run.contestant:5}: {run.records} records in {run.seconds:.3f}s "
        f"= {run.events_per_s:,.1f} events/s{cpu}{dead}"
    )


def check_output(events: int, run: Run) -> None:
    """One output record per event, each key once; ours: one modify per event."""
    problems = []
    if run.records != events or run.distinct_keys != events:
        problems.append(f"{run.records} records, {run.distinct_keys} keys")
    if run.actions is not None and run.actions != {"modify": events}:
        problems.append(f"commands {run.actions}")
    if run.dead_letters:
        problems.append(f"{run.dead_letters} dead letters")
    if problems:
        console.print(
            f"[red]round {run.round} {run.contestant}: expected {events} of each, got "
            f"{'; '.join(problems)}: its rate is not comparable[/red]"
        )


def summary(
    events: int, names: tuple[str, ...], runs: list[Run], tuned: dict[str, str]
) -> dict[str, Any]:
    medians = {
        name: statistics.median(r.events_per_s for r in runs if r.contestant == name)
        for name in names
    }
    ratios = {
        f"{a}/{b}": round(medians[a] / medians[b], 4) if medians[b] else 0.0
        for a, b in RATIOS
        if a in medians and b in medians
    }
    return {
        "bench": "legacy_to_ditto",
        "events": events,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "tuned_faust_env": tuned or None,
        "runs": [asdict(r) for r in runs],
        "median_events_per_s": medians,
        "median_cpu_ms_per_event": {name: _median_cpu(runs, name) for name in names},
        "ratios": ratios,
        "goal_ours_to_plain": GOAL,
        "ours_extra_work_per_event": list(EXTRA_WORK),
    }


def _median_cpu(runs: list[Run], name: str) -> float | None:
    values = [r.cpu_ms_per_event for r in runs if r.contestant == name]
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def print_summary(report: dict[str, Any], rounds: int, tuned: dict[str, str]) -> None:
    medians, cpu = report["median_events_per_s"], report["median_cpu_ms_per_event"]
    console.print(
        f"\n[bold]median of {rounds} rounds over {report['events']} events[/bold] (events/s "
        "from the broker's append times of the first and last output record; CPU ms/event)"
    )
    for name, rate in medians.items():
        label = LABELS[name].format(env=_env_text(tuned))
        ms = "     -" if cpu[name] is None else f"{cpu[name]:6.3f}"
        console.print(f"  {name:6} {rate:>10,.1f} {ms}  {label}")
    ratios = report["ratios"]
    verdict = "met" if ratios["ours/plain"] >= GOAL else "missed"
    console.print(f"  ours/plain  = {ratios['ours/plain']:.1%} (goal >= {GOAL:.0%}: {verdict})")
    console.print(f"  faust/plain = {ratios['faust/plain']:.1%} (Faust alone, no work)")
    console.print(f"  ours/faust  = {ratios['ours/faust']:.1%}")
    if "tuned/ours" in ratios:
        console.print(f"  tuned/ours  = {ratios['tuned/ours']:.3f}")
    first = next(r for r in report["runs"] if r["contestant"] == "ours")
    console.print(
        f"per event, ours also ({first['changelog_records']} changelog records for "
        f"{first['records']} commands in round {first['round']}):"
    )
    for line in EXTRA_WORK:
        console.print(f"  - {line}")


def _env_text(env: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(env.items()))


def print_samples(samples: dict[str, Any]) -> None:
    if "error" in samples:
        console.print(f"\n[red]worker under py-spy: {samples['error']}[/red]")
        return
    console.print(f"\n[bold]worker under py-spy[/bold] ({samples.get('samples', 0)} samples)")
    console.print("  inclusive time of the agent's steps (share of busy samples):")
    for step, share in samples.get("inclusive_steps", {}).items():
        console.print(f"    {share:6.1%}  {step}")
    console.print("  own time by library:")
    for area, share in samples.get("own_by_area", {}).items():
        console.print(f"    {share:6.1%}  {area}")


def flow_section(result: FlowProfile, plain_rate: float) -> dict[str, Any]:
    """Print the in-process profile of the flow; returns it for the JSON."""
    share = result.events_per_s / plain_rate if plain_rate else 0.0
    console.print(
        f"\n[bold]flow alone[/bold] (decode, map, decide, encode; dict stores, no Kafka): "
        f"{result.events_per_s:,.1f} events/s over {result.events} events "
        f"= {share:.1%} of the plain loop; {result.cpu_ms_per_event:.3f} CPU ms/event"
    )
    console.print("  own time by stage (cProfile):")
    for area, own in result.by_area.items():
        console.print(f"    {own:6.1%}  {area}")
    console.print("  top functions by own time:")
    for name, own in result.top:
        console.print(f"    {own:6.1%}  {name}")
    return {
        "events": result.events,
        "seconds": round(result.seconds, 3),
        "events_per_s": round(result.events_per_s, 1),
        "cpu_ms_per_event": round(result.cpu_ms_per_event, 3),
        "share_of_plain": round(share, 4),
        "own_by_area": result.by_area,
        "top_functions": result.top,
    }


__all__ = [
    "Run",
    "check_output",
    "console",
    "flow_section",
    "print_run",
    "print_samples",
    "print_summary",
    "say",
    "summary",
]
