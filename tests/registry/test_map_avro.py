"""`streams map --format avro`: records of the Avro connector, schemas from the registry,
give the commands `streams map` gives for the JSON connector's records of the same rows."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from typing import Any

import pytest

from streams.cdc import CdcRecord, Decoder, Op, RecordDecoder, RowChange
from streams.config import Settings
from streams.errors import DecodeError
from streams.kafka.reader import read_to_end
from streams.registry.decoders import record_decoder

pytestmark = pytest.mark.stack

_ORIGIN_HEADERS = ("correlation-id", "streams-source")


def _map(settings: Settings, lines: list[str], *args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "map", "--table", "basins", *args],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "STREAMS_SCHEMA_REGISTRY_URL": settings.schema_registry_url},
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    commands = [json.loads(line) for line in done.stdout.splitlines()]
    for command in commands:
        headers = command["headers"]
        command["headers"] = {k: v for k, v in headers.items() if not k.startswith(_ORIGIN_HEADERS)}
    return commands


def _records(settings: Settings, prefix: str) -> list[CdcRecord]:
    return [
        CdcRecord(r.key, r.value, r.topic, r.partition, r.offset, r.headers)
        for r in read_to_end(settings.kafka_bootstrap, f"{prefix}.public.basins")
    ]


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode()


def _snapshot_reads(decoder: RecordDecoder, records: list[CdcRecord]) -> dict[str, CdcRecord]:
    """Snapshot reads by their row key (tenant, code)."""
    out = {}
    for record in records:
        try:
            change = decoder.decode(record)
        except DecodeError:
            continue  # the topics also hold the bad records other tests produce on purpose
        if isinstance(change, RowChange) and change.op is Op.READ:
            out[json.dumps(change.key, sort_keys=True, default=str)] = record
    return out


def test_avro_lines_map_to_the_commands_of_the_same_json_records(avro_stack: Settings) -> None:
    avro_settings = avro_stack.model_copy(update={"cdc_format": "avro"})
    avro = _snapshot_reads(
        record_decoder(avro_settings, {}), _records(avro_stack, avro_stack.avro_topic_prefix)
    )
    plain = _snapshot_reads(Decoder(), _records(avro_stack, avro_stack.topic_prefix))
    keys = sorted(avro.keys() & plain.keys())[:5]
    assert len(keys) == 5
    avro_lines = [
        json.dumps({"key": _b64(avro[k].key), "value": _b64(avro[k].value)}) for k in keys
    ]
    json_lines = [
        json.dumps({"key": _text(plain[k].key), "value": _text(plain[k].value)}) for k in keys
    ]

    from_avro = _map(avro_stack, avro_lines, "--format", "avro")

    assert [c["topic"].rsplit("/", 1)[-1] for c in from_avro] == ["modify"] * 5
    assert from_avro == _map(avro_stack, json_lines, "--format", "json")
