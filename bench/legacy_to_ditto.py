"""Bench: the legacy -> Ditto transform path against a plain consume -> produce loop.

`python -m bench.legacy_to_ditto --events N` writes N Debezium inserts of `wells` (real
records of our connector, re-keyed: see bench/_input.py) into a fresh bench topic, then,
in each round, lets each contestant read it from the earliest offset in its own process:

- ours: a real `streams worker` (own group, command and dead-letter topics, data dir);
- faust: a Faust agent with our app's settings that copies each record: Faust's floor;
- plain: a confluent-kafka loop copying each record unchanged to another topic;
- tuned (with --tuned): ours again, with Faust settings from the environment.

Each is timed by the broker: the append times of the first and the last record of its
output topic, so process start-up and group join are excluded. Rounds rotate who goes
first; the medians give the ratios. Every bench topic and group is deleted at the end.
"""

from __future__ import annotations

import json
import logging
import resource
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from bench import _contestants, _input, _profile, _report, _topics
from bench._contestants import Contestant
from bench._report import Run, console
from streams.config import PROJECT_ROOT, Settings, get_settings
from streams.kafka.topics import TopicSpec
from streams.stack import kafka

log = logging.getLogger(__name__)

RESULTS = PROJECT_ROOT / "bench" / "results"


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
    events: Annotated[int, typer.Option(min=100, help="Bench events (distinct wells).")] = 6_000,
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
            "CONSUMER_MAX_FETCH_SIZE=8388608: adds a contestant, the worker so tuned."
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
    report = _report.summary(plan.events, names, runs, plan.tuned)
    report["input_topic"] = plan.source
    _report.print_summary(report, rounds, plan.tuned)
    if py_spy is not None:
        report["worker_samples"] = _sampled_run(plan, py_spy, rounds + 1)
        _report.print_samples(report["worker_samples"])
    if profile:
        report["flow_profile"] = _flow_profile(plan, report["median_events_per_s"]["plain"])
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
    _report.say(
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
    before = _children_cpu()
    contestant = _start(plan, name, number)
    try:
        finished = _wait(plan, contestant, f"round {number} {name}")
    finally:
        _contestants.stop(contestant)
    if finished.cpu_ms_per_event is None:
        # Too short to sample while it runs (the plain loop): its whole CPU time, start-up
        # included, from the rusage of reaped children; an upper bound per event.
        finished.whole_cpu_s = _children_cpu() - before
    return _measure(plan, contestant, number, finished)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wait(
    plan: Plan, contestant: Contestant, label: str, on_first: Any = None
) -> _contestants.Finished:
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=plan.events)
        return _contestants.wait_done(
            plan.settings,
            contestant,
            plan.events,
            lambda done: bar.update(task, completed=done),
            on_first,
        )


def _measure(
    plan: Plan, contestant: Contestant, number: int, finished: _contestants.Finished
) -> Run:
    ours = contestant.name in ("ours", "tuned")
    out = _topics.read_output(plan.settings.kafka_bootstrap, contestant.output, ditto=ours)
    cpu = finished.cpu_ms_per_event or finished.whole_cpu_ms_per_event(out.count)
    run = Run(
        contestant.name,
        number,
        out.count,
        len(out.keys),
        round(out.span_s, 3),
        round(out.events_per_s, 1),
        finished.dead_letters,
        None if cpu is None else round(cpu, 3),
        dict(out.actions) if ours else None,
        _changelog_records(plan, contestant.group) if ours else None,
    )
    _report.print_run(run)
    _report.check_output(plan.events, run)
    return run


def _changelog_records(plan: Plan, group: str) -> int:
    reader = _topics.offset_reader(plan.settings.kafka_bootstrap)
    try:
        return sum(
            _topics.end_total(reader, f"{group}-{table}-changelog")
            for table in ("cdc-key-state", "thing-id-owner")
        )
    finally:
        reader.close()


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


def _flow_profile(plan: Plan, plain_rate: float) -> dict[str, Any]:
    records = _input.read_records(plan.settings.kafka_bootstrap, plan.source)
    with console.status("profiling the flow in-process"):
        result = _profile.flow_only(plan.settings, records)
    return _report.flow_section(result, plain_rate)


def _cleanup(plan: Plan, rounds: int) -> None:
    bootstrap = plan.settings.kafka_bootstrap
    groups = [f"{plan.prefix}-{n}-{r}" for n in plan.contestants for r in range(1, rounds + 2)]
    _topics.delete(bootstrap, _topics.topics_with_prefix(bootstrap, plan.prefix), groups)


if __name__ == "__main__":
    typer.run(main)
