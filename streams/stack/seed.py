"""Fill the legacy tables from the real sample extracts in data/ (see data/PROVENANCE.md).

The sources' quirks stay as they are: empty columns become NULL, well codes keep
their slashes and spaces, names keep Æ, Ø and Å, padded values keep their padding.

Tenants: the sample estate belongs to two operators, so per-tenant policies mean
something. US basins (USGS, EIA) belong to `acme`; the Norwegian wells are split by
field between `nordic` and `acme`; each tenant holding wells gets its own copy of the
Sodir main areas those wells sit in, because a well's basin must be of its tenant.

Loading is idempotent (ON CONFLICT DO NOTHING): a second run changes nothing.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

from streams.config import PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

DATA_DIR = PROJECT_ROOT / "data"
FIELD_TENANT = {
    "VOLVE": "nordic",
    "SLEIPNER ØST": "nordic",
    "JOHAN SVERDRUP": "nordic",
    "ÅSGARD": "acme",
    "SNØHVIT": "acme",
    "EKOFISK": "acme",
}
US_TENANT = "acme"

BASIN_COLUMNS = (
    "tenant",
    "code",
    "name",
    "country",
    "region",
    "basin_type",
    "age",
    "tectonic_setting",
    "area_km2",
    "min_lat",
    "max_lat",
    "min_lon",
    "max_lon",
)
WELL_COLUMNS = (
    "tenant",
    "well_code",
    "name",
    "api_number",
    "basin_code",
    "well_type",
    "lift_method",
    "tubing_size",
    "casing_size",
    "oil_rate_bopd",
    "gas_rate_mscfd",
    "water_rate_bwpd",
    "status",
    "last_update",
    "npdid_wellbore",
    "field",
)
PRODUCTION_COLUMNS = (
    "tenant",
    "well_code",
    "day",
    "oil_vol_sm3",
    "gas_vol_sm3",
    "water_vol_sm3",
    "water_inj_vol_sm3",
    "on_stream_hrs",
)


@dataclass(frozen=True)
class SeedResult:
    basins: int
    wells: int
    production_days: int


def _rows(name: str) -> Iterator[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _value(text: str) -> str | None:
    """An empty field means 'no value in the source': NULL, never an empty string."""
    return text if text != "" else None


def basin_rows() -> list[tuple[str | None, ...]]:
    wells = list(_rows("wells.csv"))
    areas_by_tenant = {(FIELD_TENANT[w["field"]], w["basin"]) for w in wells}
    rows = []
    for basin in _rows("basins.csv"):
        if basin["record_kind"] == "sodir_main_area":
            tenants = sorted(t for t, area in areas_by_tenant if area == basin["code"])
        else:
            tenants = [US_TENANT]
        for tenant in tenants:
            rows.append((tenant, *(_value(basin[c]) for c in BASIN_COLUMNS[1:])))
    return rows


def well_rows() -> list[tuple[str | None, ...]]:
    rows: list[tuple[str | None, ...]] = []
    for well in _rows("wells.csv"):
        last_update = _value(well["last_update"])
        rows.append(
            (
                FIELD_TENANT[well["field"]],
                well["well_code"],
                well["name"],
                _value(well["api_number"]),
                _value(well["basin"]),
                _value(well["well_type"]),
                _value(well["lift_method"]),
                _value(well["tubing_size"]),
                _value(well["casing_size"]),
                _value(well["oil_rate_bopd"]),
                _value(well["gas_rate_mscfd"]),
                _value(well["water_rate_bwpd"]),
                _value(well["status"]),
                f"{last_update}T00:00:00Z" if last_update else None,
                _value(well["npdid_wellbore"]),
                _value(well["field"]),
            )
        )
    return rows


def production_rows() -> list[tuple[str | None, ...]]:
    tenant_of = {w["well_code"]: FIELD_TENANT[w["field"]] for w in _rows("wells.csv")}
    return [
        (
            tenant_of[day["well_code"]],
            day["well_code"],
            day["date"],
            *(_value(day[c]) for c in PRODUCTION_COLUMNS[3:]),
        )
        for day in _rows("production.csv")
    ]


def _insert(
    conn: psycopg.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple[str | None, ...]],
) -> int:
    placeholders = ", ".join(["%s"] * len(columns))
    stmt = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    )
    with conn.cursor() as cur:
        cur.executemany(stmt, rows)
        return max(cur.rowcount, 0)


def seed(settings: Settings) -> SeedResult:
    """Load the sample estate; returns how many rows each table gained (0 on a rerun)."""
    with psycopg.connect(settings.pg_dsn) as conn:
        result = SeedResult(
            basins=_insert(conn, "basins", BASIN_COLUMNS, basin_rows()),
            wells=_insert(conn, "wells", WELL_COLUMNS, well_rows()),
            production_days=_insert(
                conn, "well_production_daily", PRODUCTION_COLUMNS, production_rows()
            ),
        )
    log.info(
        "seeded basins=%d wells=%d production_days=%d",
        result.basins,
        result.wells,
        result.production_days,
    )
    return result
