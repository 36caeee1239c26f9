"""Records captured from the real Debezium connector (tests/fixtures/debezium/)."""

from __future__ import annotations

import json
from pathlib import Path

from streams.cdc import CdcRecord, ColumnSpec, ColumnType

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "debezium"

# The capture table dbz_capture.gauges, typed as a mapping would declare it. ts, ts_ms
# and tod (timestamp without time zone, time) have no mapping type on purpose.
GAUGE_TYPES = {
    "id": ColumnSpec(ColumnType.INTEGER),
    "label": ColumnSpec(ColumnType.TEXT),
    "status": ColumnSpec(ColumnType.TEXT),
    "fixed_num": ColumnSpec(ColumnType.NUMERIC, scale=3),
    "free_num": ColumnSpec(ColumnType.NUMERIC),
    "tstz": ColumnSpec(ColumnType.TIMESTAMPTZ),
    "day": ColumnSpec(ColumnType.DATE),
    "notes": ColumnSpec(ColumnType.TEXT),
}


def _bytes(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def captured(case: str, label: str) -> CdcRecord:
    """One captured record, exactly as Kafka held it."""
    doc = json.loads((FIXTURES / case / f"{label}.json").read_text(encoding="utf-8"))
    return CdcRecord(
        key=_bytes(doc["key"]),
        value=_bytes(doc["value"]),
        topic=doc["topic"],
        partition=doc["partition"],
        offset=doc["offset"],
        headers=[(name, _bytes(value)) for name, value in doc["headers"]],
    )


def labels(case: str) -> list[str]:
    return sorted(p.stem for p in (FIXTURES / case).glob("*.json"))
