"""Decode + map, JSON beside Avro: the same row changes from the two connectors' topics.

    .venv/bin/python -m bench.avro_decode              # 5 rounds over the sample estate
    .venv/bin/python -m bench.avro_decode --rounds 9 --repeat 4

Input: every record of the mapped tables (basins, wells) in the JSON connector's
topics (STREAMS_TOPIC_PREFIX) and in the Avro connector's (STREAMS_AVRO_TOPIC_PREFIX),
kept where both hold a record of the same key and op: the same row changes, written by
the two converters. Each round runs each list `--repeat` times through the worker's own
flow (streams.state.legacy_flow: decode, id claim, per-key decision, command), each pass
with fresh in-memory stores, in one process, one format after the other; decode alone is
timed too.
The Avro decoder's schemas are fetched in a warm-up pass, as a running worker would
have them cached. No Kafka, Faust or Ditto in the timed part. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench._report import console, say
from streams.cdc import CdcRecord, RecordDecoder, RowChange, Tombstone
from streams.config import Settings, get_settings
from streams.errors import DecodeError
from streams.kafka.reader import read_to_end
from streams.mapping import load_mappings
from streams.registry.decoders import record_decoder
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.legacy_flow import LegacyFlow

TABLES = ("basins", "wells")  # the mapped tables
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Timing:
    format: str
    what: str  # "decode" or "decode+map"
    events: int
    bytes_per_event: float
    events_per_s: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.events_per_s)


def _key_of(decoder: RecordDecoder, record: CdcRecord) -> tuple[Any, ...] | None:
    try:
        change = decoder.decode(record)
    except DecodeError:
        return None  # the topics also hold the bad records some tests produce on purpose
    if not isinstance(change, RowChange | Tombstone):
        return None
    op = change.op.value if isinstance(change, RowChange) else "tombstone"
    return (change.table, op, tuple(sorted((k, str(v)) for k, v in change.key.items())))


def _records(settings: Settings, prefix: str, decoder: RecordDecoder) -> dict[Any, CdcRecord]:
    out: dict[Any, CdcRecord] = {}
    for table in TABLES:
        topic = f"{prefix}.public.{table}"
        for raw in read_to_end(settings.kafka_bootstrap, topic):
            record = CdcRecord(
                raw.key, raw.value, raw.topic, raw.partition, raw.offset, raw.headers
            )
            key = _key_of(decoder, record)  # also the warm-up: schemas fetched here
            if key is not None:
                out[key] = record
        say(f"read {topic}: {len(out)} row changes so far")
    return out


def _timed(run: Callable[[], None], events: int) -> float:
    start = time.perf_counter()
    run()
    return events / (time.perf_counter() - start)


def _flow_pass(
    settings: Settings, mappings: Any, decoder: RecordDecoder, records: list[CdcRecord]
) -> None:
    flow = LegacyFlow(
        mappings, models_url=settings.thing_models_url, sync_origin=SYNC_ORIGIN, decoder=decoder
    )
    states: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for record in records:
        flow.process(record, states, owners)


def _passes(one: Callable[[], None], times: int) -> None:
    for _ in range(times):
        one()


def _decode_pass(decoder: RecordDecoder, records: list[CdcRecord]) -> None:
    for record in records:
        decoder.decode(record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per contestant")
    parser.add_argument("--repeat", type=int, default=10, help="passes over the input a round")
    args = parser.parse_args()
    settings = get_settings()
    mappings = load_mappings(settings.mappings_dir)
    decoders = {
        "json": record_decoder(settings.model_copy(update={"cdc_format": "json"}), mappings),
        "avro": record_decoder(settings.model_copy(update={"cdc_format": "avro"}), mappings),
    }
    by_format = {
        "json": _records(settings, settings.topic_prefix, decoders["json"]),
        "avro": _records(settings, settings.avro_topic_prefix, decoders["avro"]),
    }
    common = sorted(by_format["json"].keys() & by_format["avro"].keys(), key=str)
    inputs = {f: [by_format[f][k] for k in common] for f in by_format}
    say(f"{len(common)} row changes in both formats, {args.repeat} passes a round")
    timings = _measure(settings, mappings, decoders, inputs, (args.rounds, args.repeat))
    _print(timings)
    _write(timings, len(common))


def _measure(
    settings: Settings,
    mappings: Any,
    decoders: dict[str, RecordDecoder],
    inputs: dict[str, list[CdcRecord]],
    shape: tuple[int, int],
) -> list[Timing]:
    """Rounds alternate the formats, so a load from elsewhere on the machine falls on both."""
    rounds, repeat = shape
    rates: dict[tuple[str, str], list[float]] = {}
    for n in range(1, rounds + 1):
        for fmt, records in inputs.items():
            decoder, events = decoders[fmt], len(records) * repeat
            decode_pass = partial(_decode_pass, decoder, records)
            flow_pass = partial(_flow_pass, settings, mappings, decoder, records)
            decode = _timed(partial(_passes, decode_pass, repeat), events)
            full = _timed(partial(_passes, flow_pass, repeat), events)
            rates.setdefault((fmt, "decode"), []).append(decode)
            rates.setdefault((fmt, "decode+map"), []).append(full)
            say(f"round {n} {fmt}: decode {decode:,.0f}/s, decode+map {full:,.0f}/s")
    return [
        Timing(fmt, what, len(inputs[fmt]) * repeat, _size(inputs[fmt]), values)
        for (fmt, what), values in rates.items()
    ]


def _size(records: list[CdcRecord]) -> float:
    return statistics.fmean(len(r.value or b"") + len(r.key or b"") for r in records)


def _print(timings: list[Timing]) -> None:
    by = {(t.format, t.what): t for t in timings}
    console.print("\n[bold]median events/s (one core, in-process)[/bold]")
    console.print(f"{'':12}{'JSON':>12}{'Avro':>12}{'Avro/JSON':>12}")
    for what in ("decode", "decode+map"):
        j, a = by[("json", what)], by[("avro", what)]
        console.print(f"{what:12}{j.median:12,.0f}{a.median:12,.0f}{a.median / j.median:12.2f}")
    j, a = by[("json", "decode")], by[("avro", "decode")]
    console.print(f"{'bytes/event':12}{j.bytes_per_event:12,.0f}{a.bytes_per_event:12,.0f}")


def _write(timings: list[Timing], rows: int) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    path = RESULTS / f"avro_decode-{stamp}.json"
    doc = {
        "row_changes": rows,
        "timings": [{**asdict(t), "median": t.median} for t in timings],
    }
    path.write_text(json.dumps(doc, indent=2))
    say(f"wrote {path}")


if __name__ == "__main__":
    main()
