"""What one `streams worker` costs in memory and CPU: the numbers behind the Kubernetes
requests and limits in deploy/k8s/base/worker-deployment.yaml.

A real worker with its own consumer group and output topics reads the whole CDC history
of the running stack from the earliest offset (the heaviest phase of a real deployment:
a new group, or a replay), idles, and is stopped with SIGTERM (the seconds until it exits
bound the pod's termination grace). /proc/<pid>/stat (utime + stime) and /proc/<pid>/status
(VmRSS) are sampled every half second. Nothing is asserted:
the result is printed and written to bench/results/.

    .venv/bin/python -m bench.worker_footprint [--idle-seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from bench._report import say
from streams.config import PROJECT_ROOT, get_settings
from streams.kafka.lag import group_lag
from streams.kafka.topics import cdc_topic
from streams.ops.worker_process import WorkerProcess

RESULTS = PROJECT_ROOT / "bench" / "results"
TICK = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_seconds: float
    rss_mib: float


@dataclass(frozen=True)
class Footprint:
    records: int
    catch_up_seconds: float
    catch_up_cpu_cores_mean: float
    catch_up_cpu_cores_peak_1s: float
    rss_mib_peak: float
    rss_mib_after_catch_up: float
    idle_cpu_cores_mean: float
    idle_rss_mib: float
    start_seconds: float
    stop_seconds: float


def sample(pid: int) -> Sample:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # Fields after the command: state is [0]; utime and stime are fields 14 and 15 of stat.
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss_kib = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return Sample(time.monotonic(), cpu, rss_kib / 1024)


def cores(a: Sample, b: Sample) -> float:
    return (b.cpu_seconds - a.cpu_seconds) / max(b.at - a.at, 1e-9)


def peak_cores(samples: list[Sample], window: float = 1.0) -> float:
    best = 0.0
    for i, first in enumerate(samples):
        last = next((s for s in samples[i:] if s.at - first.at >= window), None)
        if last is not None:
            best = max(best, cores(first, last))
    return best


def measure(idle_seconds: float) -> Footprint:
    settings = get_settings()
    run = uuid.uuid4().hex[:8]
    group = f"bench-footprint-{run}"
    env = {
        "STREAMS_CONSUMER_GROUP": group,
        "STREAMS_COMMAND_TOPIC": f"bench.commands.{run}",
        "STREAMS_DEAD_LETTER_TOPIC": f"bench.dead-letters.{run}",
        "STREAMS_EVENT_TOPIC": f"bench.events.{run}",
        "STREAMS_REPLY_TOPIC": f"bench.replies.{run}",
        "STREAMS_SINK_TOPIC": f"bench.sink.{run}",
        "STREAMS_WORKER_DATA_DIR": tempfile.mkdtemp(prefix=f"footprint-{run}-"),
    }
    topics = [cdc_topic(settings, t) for t in ("basins", "wells")]
    records = sum(p.end for p in group_lag(settings.kafka_bootstrap, group, topics))
    say(f"CDC history: {records} records in {', '.join(topics)}")
    worker = WorkerProcess(RESULTS / f"footprint-{run}.log", env)
    began = time.monotonic()
    worker.start()
    assert worker.proc is not None
    pid = worker.proc.pid
    started = time.monotonic() - began
    say(f"worker pid={pid} answers after {started:.1f}s; reading the history")
    samples = [sample(pid)]
    try:
        while any(p.lag > 0 for p in group_lag(settings.kafka_bootstrap, group, topics)):
            time.sleep(TICK)
            samples.append(sample(pid))
        caught_up = samples[-1]
        say(f"caught up after {caught_up.at - samples[0].at:.1f}s, RSS {caught_up.rss_mib:.0f} MiB")
        idle = [caught_up]
        while idle[-1].at - caught_up.at < idle_seconds:
            time.sleep(TICK)
            idle.append(sample(pid))
    finally:
        stopping = time.monotonic()
        worker.stop()
        stopped = time.monotonic() - stopping
    busy = samples
    return Footprint(
        records=records,
        catch_up_seconds=round(busy[-1].at - busy[0].at, 1),
        catch_up_cpu_cores_mean=round(cores(busy[0], busy[-1]), 3),
        catch_up_cpu_cores_peak_1s=round(peak_cores(busy), 3),
        rss_mib_peak=round(max(s.rss_mib for s in busy + idle), 1),
        rss_mib_after_catch_up=round(busy[-1].rss_mib, 1),
        idle_cpu_cores_mean=round(cores(idle[0], idle[-1]), 3),
        idle_rss_mib=round(idle[-1].rss_mib, 1),
        start_seconds=round(started, 1),
        stop_seconds=round(stopped, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="idle sampling time")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = measure(args.idle_seconds)
    for key, value in asdict(result).items():
        say(f"{key:<28} {value}")
    path = RESULTS / f"worker-footprint-{int(time.time())}.json"
    path.write_text(json.dumps(asdict(result), indent=2) + "\n")
    say(f"results: {path.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
