"""The plan's two example rows (mapping.md) as the legacy tables hold them, and the
twins the plan fixes for them, plus our two documented additions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.mapping import TableMapping, load_mappings

MAPPINGS = load_mappings(Path(__file__).resolve().parent.parent.parent / "mappings")
MODELS_URL = "http://127.0.0.1:8099/models"


def mapping(table: str) -> TableMapping:
    return MAPPINGS[table]


BASIN_ROW: dict[str, Any] = {
    "tenant": "acme",
    "code": "CUENCA-ORIENTAL",
    "name": "Cuenca Oriental de Venezuela",
    "country": "Venezuela",
    "region": "Anzoátegui",
    "basin_type": "FORELAND",
    "age": "Cretaceous-Tertiary",
    "tectonic_setting": "Foreland basin",
    "area_km2": Decimal("153000.000"),
    "min_lat": Decimal("7.500000"),
    "max_lat": Decimal("10.500000"),
    "min_lon": Decimal("-65.000000"),
    "max_lon": Decimal("-60.000000"),
    "updated_at": datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
    "twin_revision": None,
}

WELL_ROW: dict[str, Any] = {
    "tenant": "acme",
    "well_code": "MOR-001",
    "name": "MOR-001",
    "api_number": "VE-12345",
    "basin_code": None,
    "well_type": "PRODUCER",
    "lift_method": "ESP",
    "tubing_size": Decimal("2.875"),
    "casing_size": Decimal("7.000"),
    "oil_rate_bopd": Decimal("450.000"),
    "gas_rate_mscfd": Decimal("850.000"),
    "water_rate_bwpd": Decimal("120.000"),
    "status": "PRODUCING",
    "last_update": datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
    "npdid_wellbore": None,
    "field": None,
    "updated_at": datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
    "twin_revision": None,
}

# The shapes as mapping.md prints them (values from the plan).
PLAN_BASIN = json.loads("""{
  "thingId": "acme:basin-cuenca-oriental",
  "policyId": "acme:default-policy",
  "attributes": {"type": "BASIN", "name": "Cuenca Oriental de Venezuela",
                 "country": "Venezuela", "region": "Anzoátegui"},
  "features": {
    "geology": {"properties": {"basinType": "FORELAND", "age": "Cretaceous-Tertiary",
                               "tectonicSetting": "Foreland basin"}},
    "location": {"properties": {"areaKm2": 153000, "bounds": {"minLat": 7.5, "maxLat": 10.5,
                                "minLon": -65.0, "maxLon": -60.0}}}
  }
}""")
PLAN_WELL = json.loads("""{
  "thingId": "acme:well-mor-001",
  "policyId": "acme:default-policy",
  "attributes": {"type": "WELL", "name": "MOR-001", "wellCode": "MOR-001",
                 "apiNumber": "VE-12345"},
  "features": {
    "completion": {"properties": {"wellType": "PRODUCER", "liftMethod": "ESP",
                                  "tubingSize": 2.875, "casingSize": 7.0}},
    "production": {"properties": {"oilRateBopd": 450, "gasRateMscfd": 850,
                                  "waterRateBwpd": 120}},
    "status": {"properties": {"current": "PRODUCING", "lastUpdate": "2026-01-10T12:00:00Z"}}
  }
}""")


def with_additions(plan: dict[str, Any], model: str, **attributes: Any) -> dict[str, Any]:
    """The plan's shape plus `definition` and any added attributes."""
    return {
        **plan,
        "definition": f"{MODELS_URL}/{model}",
        "attributes": {**plan["attributes"], **attributes},
    }
