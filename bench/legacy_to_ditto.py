"""Bench: the legacy -> Ditto transform path against a plain consume -> produce loop.

`python -m bench.legacy_to_ditto --events N` writes N real-shaped Debezium inserts of
`wells` into a fresh bench topic (see bench/_input.py), then, in each round, lets both
contestants read it from the earliest offset:

- ours: a real `streams worker` process (own group, command and dead-letter topics),
- plain: a confluent-kafka loop copying each record unchanged to another topic.

Each is timed by the broker: the append times of the first and the last record of its
output topic, so process start-up and group join are excluded. Rounds alternate who
goes first; the medians give the ratio. Every bench topic and group is deleted at the end.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress

from bench import _contestants, _input, _profile, _topics
from bench._contestants import Contestant
from streams.config import PROJECT_ROOT, Settings, get_settings
from streams.kafka.topics import TopicSpec
from streams.stack import kafka

log = logging.getLogger(__name__)

RESULTS = PROJECT_ROOT / "bench" / "results"
GOAL = 0.80
EXTRA_WORK = (
    "decode the Debezium JSON envelope and its typed columns (decimals, timestamps)",
    "map the row: thing id from the key, attributes and feature properties, policy",
    "claim the thing id for its key (thing-id-owner table)",
    "read and write the key's state: last record, LSN, canonical image (cdc-key-state)",
    "each table write: a RocksDB put plus a changelog record to Kafka",
    "encode a Ditto Protocol modify command with its headers, keyed by thing id",
)
console = Console()


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
    actions: dict[str, int] | None = None
    changelog_records: int | None = None


@dataclass(frozen=True)
class Plan:
    settings: Settings
    events: int
    prefix: str
    source_prefix: str
    logs: Path
    tuned: dict[str, str]

    @property
    def contestants(self) -> tuple[str, ...]:
        names = ("ours", "faust", "plain")
        return (*names, "tuned") if self.tuned else names

    @property
    def source(self) -> str:
        return f"{self.source_prefix}.public.wells"


def main(
    events: Annotated[int, typer.Option(min=100, help="Bench events (distinct wells).")] = 20_000,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds; who goes first alternates.")] = 3,
    profile: Annotated[bool, typer.Option(help="Profile the flow in-process (cProfile).")] = True,
    py_spy: Annotated[
        Path | None,
        typer.Option(help="Path of a py-spy binary: one extra, untimed worker run sampled."),
    ] = None,
    keep_topics: Annotated[bool, typer.Option(help="Leave the bench topics for a look.")] = False,
    tuned: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE of a Faust setting's environment variable (repeatable), e.g. "
            "PRODUCER_MAX_BATCH_SIZE=262144: adds a third contestant, the worker so tuned."
        ),
    ] = None,
) -> None:
    """Events/s of the legacy -> Ditto worker and of a plain consume -> produce loop over
    the same records, and their ratio (goal: ours >= 80 % of the plain loop)."""
    settings = get_settings()
    if not kafka.healthy(settings):
        raise SystemExit("Kafka is not up: start the local stack with `streams stack up`")
    plan = _plan(settings, events, _faust_env(tuned or []))
    try:
        report = _bench(plan, rounds, profile, py_spy)
    finally:
        if not keep_topics:
            _cleanup(plan, rounds)
    path = RESULTS / f"legacy_to_ditto-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"results: {path.relative_to(PROJECT_ROOT)}")


def _faust_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.isupper():
            raise typer.BadParameter(f"{pair!r}: write NAME=VALUE, e.g. PRODUCER_LINGER=0.005")
        env[name] = value
    return env


def _plan(settings: Settings, events: int, tuned: dict[str, str]) -> Plan:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    logs = RESULTS / f"logs-{prefix}"
    logs.mkdir(parents=True, exist_ok=True)
    return Plan(settings, events, prefix, f"{prefix}-in", logs, tuned)


def _bench(plan: Plan, rounds: int, profile: bool, py_spy: Path | None) -> dict[str, Any]:
    _prepare_input(plan)
    runs: list[Run] = []
    names = plan.contestants
    for number in range(1, rounds + 1):
        # Rotate who goes first: a noisy neighbour should not favour one contestant.
        shift = (number - 1) % len(names)
        for name in names[shift:] + names[:shift]:
            runs.append(_run(plan, name, number))
    report = _report(plan, runs)
    _print_runs(plan, runs, report)
    if py_spy is not None:
        report["worker_samples"] = _sampled_run(plan, py_spy, rounds + 1)
        _print_samples(report["worker_samples"])
    if profile:
        report["flow_profile"] = _flow_profile(plan)
    return report


def _prepare_input(plan: Plan) -> None:
    settings = plan.settings
    partitions = settings.topic_partitions
    # The worker subscribes to every mapped table's topic; basins stays empty here.
    _topics.create(
        settings.kafka_bootstrap,
        [
            TopicSpec(plan.source, partitions),
            TopicSpec(f"{plan.source_prefix}.public.basins", partitions),
        ],
    )
    templates = _input.load_templates(settings)
    with console.status(f"writing {plan.events} bench events to {plan.source}"):
        _input.publish(settings, plan.source, templates, plan.events)
    console.print(
        f"input: {plan.events} inserts of distinct wells built from {len(templates)} "
        f"snapshot records of {settings.topic_prefix}.public.wells -> {plan.source}"
    )


def _start(plan: Plan, name: str, number: int) -> Contestant:
    prefix = f"{plan.prefix}-{name}-{number}"
    log_file = plan.logs / f"{name}-{number}.log"
    if name == "ours":
        return _contestants.start_ours(plan.settings, prefix, plan.source_prefix, log_file)
    if name == "faust":
        return _contestants.start_faust_copy(plan.settings, prefix, plan.source, log_file)
    if name == "tuned":
        return _contestants.start_ours(
            plan.settings, prefix, plan.source_prefix, log_file, plan.tuned, name
        )
    return _contestants.start_plain(plan.settings, prefix, plan.source, plan.events, log_file)


def _run(plan: Plan, name: str, number: int) -> Run:
    contestant = _start(plan, name, number)
    try:
        dead = _wait(plan, contestant, f"round {number} {name}")
    finally:
        _contestants.stop(contestant)
    return _measure(plan, contestant, number, dead)


def _wait(plan: Plan, contestant: Contestant, label: str, on_first: Any = None) -> int:
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(label, total=plan.events)
        return _contestants.wait_done(
            plan.settings,
            contestant,
            plan.events,
            lambda done: bar.update(task, completed=done),
            on_first,
        )


def _measure(plan: Plan, contestant: Contestant, number: int, dead: int) -> Run:
    bootstrap = plan.settings.kafka_bootstrap
    ours = contestant.name in ("ours", "tuned")
    out = _topics.read_output(bootstrap, contestant.output, ditto=ours)
    changelog = None
    if ours:
        reader = _topics.offset_reader(bootstrap)
        try:
            changelog = sum(
                _topics.end_total(reader, f"{contestant.group}-{table}-changelog")
                for table in ("cdc-key-state", "thing-id-owner")
            )
        finally:
            reader.close()
    run = Run(
        contestant.name,
        number,
        out.count,
        len(out.keys),
        round(out.span_s, 3),
        round(out.events_per_s, 1),
        dead,
        dict(out.actions) if ours else None,
        changelog,
    )
    console.print(
        f"round {number} {run.contestant:5}: {run.records} records in {run.seconds:.3f}s "
        f"= {run.events_per_s:,.1f} events/s" + (f", {dead} dead letters" if dead else "")
    )
    return run


LABELS = {
    "ours": "streams worker: decode, map, key state, command",
    "faust": "Faust copy agent, our app's settings, no work",
    "plain": "confluent-kafka consume -> produce loop",
    "tuned": "streams worker with {env}",
}
RATIOS = (("ours", "plain"), ("faust", "plain"), ("ours", "faust"), ("tuned", "ours"))


def _report(plan: Plan, runs: list[Run]) -> dict[str, Any]:
    medians = {
        name: statistics.median(r.events_per_s for r in runs if r.contestant == name)
        for name in plan.contestants
    }
    ratios = {
        f"{a}/{b}": round(medians[a] / medians[b], 4) if medians[b] else 0.0
        for a, b in RATIOS
        if a in medians and b in medians
    }
    return {
        "bench": "legacy_to_ditto",
        "events": plan.events,
        "input_topic": plan.source,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "tuned_faust_env": plan.tuned or None,
        "runs": [asdict(r) for r in runs],
        "median_events_per_s": medians,
        "ratios": ratios,
        "goal_ours_to_plain": GOAL,
        "ours_extra_work_per_event": list(EXTRA_WORK),
    }


def _print_runs(plan: Plan, runs: list[Run], report: dict[str, Any]) -> None:
    medians = report["median_events_per_s"]
    rounds = len(runs) // len(plan.contestants)
    console.print(
        f"\n[bold]events/s, median of {rounds} rounds over {plan.events} events[/bold] "
        "(broker append times, first to last output record)"
    )
    for name in plan.contestants:
        label = LABELS[name].format(env=_env_text(plan.tuned))
        console.print(f"  {name:6} {medians[name]:>10,.1f}  {label}")
    ratios = report["ratios"]
    verdict = "met" if ratios["ours/plain"] >= GOAL else "missed"
    console.print(f"  ours/plain  = {ratios['ours/plain']:.1%} (goal >= {GOAL:.0%}: {verdict})")
    console.print(f"  faust/plain = {ratios['faust/plain']:.1%} (the most a Faust agent reaches)")
    console.print(f"  ours/faust  = {ratios['ours/faust']:.1%}")
    if "tuned/ours" in ratios:
        console.print(f"  tuned/ours  = {ratios['tuned/ours']:.3f}")
    first_ours = next(r for r in runs if r.contestant == "ours")
    console.print(
        f"per event, ours also ({first_ours.changelog_records} changelog records for "
        f"{first_ours.records} commands in round {first_ours.round}):"
    )
    for line in EXTRA_WORK:
        console.print(f"  - {line}")


def _env_text(env: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(env.items()))


def _sampled_run(plan: Plan, py_spy: Path, number: int) -> dict[str, Any]:
    """One more worker run, not timed, with py-spy attached from its first command on."""
    contestant = _start(plan, "ours", number)
    out = plan.logs / "worker-py-spy.txt"
    holder: list[_profile.Sampler] = []
    try:
        _wait(
            plan,
            contestant,
            "worker under py-spy",
            lambda: holder.append(_profile.Sampler(py_spy, contestant.proc.pid, out)),
        )
        return holder[0].stop() if holder else {}
    finally:
        _contestants.stop(contestant)


def _print_samples(samples: dict[str, Any]) -> None:
    console.print(f"\n[bold]worker under py-spy[/bold] ({samples.get('samples', 0)} samples)")
    console.print("  inclusive time of the agent's steps (share of busy samples):")
    for step, share in samples.get("inclusive_steps", {}).items():
        console.print(f"    {share:6.1%}  {step}")
    console.print("  own time by library:")
    for area, share in samples.get("own_by_area", {}).items():
        console.print(f"    {share:6.1%}  {area}")


def _flow_profile(plan: Plan) -> dict[str, Any]:
    records = _input.read_records(plan.settings.kafka_bootstrap, plan.source)
    with console.status("profiling the flow in-process"):
        result = _profile.flow_only(plan.settings, records)
    console.print(
        f"\n[bold]flow alone[/bold] (decode, map, decide, encode; dict stores, no Kafka): "
        f"{result.events_per_s:,.1f} events/s over {result.events} events"
    )
    console.print("  own time by stage (cProfile):")
    for area, share in result.by_area.items():
        console.print(f"    {share:6.1%}  {area}")
    console.print("  top functions by own time:")
    for name, share in result.top:
        console.print(f"    {share:6.1%}  {name}")
    return {
        "events": result.events,
        "seconds": round(result.seconds, 3),
        "events_per_s": round(result.events_per_s, 1),
        "own_by_area": result.by_area,
        "top_functions": result.top,
    }


def _cleanup(plan: Plan, rounds: int) -> None:
    bootstrap = plan.settings.kafka_bootstrap
    groups = [f"{plan.prefix}-{n}-{r}" for n in plan.contestants for r in range(1, rounds + 2)]
    _topics.delete(bootstrap, _topics.topics_with_prefix(bootstrap, plan.prefix), groups)


if __name__ == "__main__":
    typer.run(main)
