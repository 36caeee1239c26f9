"""The WoT thing models match what the mappings emit, by Ditto's validation rules:
every attribute modelled (forbid-non-modeled-attributes), every modelled feature present
(enforce-presence-of-modeled-features), every value of its modelled type."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from streams.mapping import TableMapping, dumps, to_thing
from streams.mapping.models import SCHEMAS_DIR, load_thing_model, thing_models
from tests.mapping.rows import BASIN_ROW, MAPPINGS, MODELS_URL, WELL_ROW

TM_TYPES = {
    "text": ("string", None),
    "numeric": ("number", None),
    "integer": ("integer", None),
    "timestamptz": ("string", "date-time"),
    "date": ("string", "date"),
    "boolean": ("boolean", None),
}
ROWS = {"wells": WELL_ROW, "basins": BASIN_ROW}


def model_of(mapping: TableMapping) -> dict[str, Any]:
    return load_thing_model(mapping.definition_url(MODELS_URL).rsplit("/", 1)[1])


def submodels(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    links = [link for link in model.get("links", []) if link["rel"] == "tm:submodel"]
    return {
        link["instanceName"]: load_thing_model(link["href"].rsplit("/", 1)[1]) for link in links
    }


def schema_at(properties: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = properties[path[0]]
    for part in path[1:]:
        assert schema["type"] == "object", path
        schema = schema["properties"][part]
    return schema


def valid(value: Any, schema: dict[str, Any]) -> bool:
    kind = schema["type"]
    if "const" in schema and value != schema["const"]:
        return False
    if kind == "object":
        props = schema.get("properties", {})
        return isinstance(value, dict) and all(
            k in props and valid(v, props[k]) for k, v in value.items()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string" and schema.get("format") == "date-time":
        return (
            isinstance(value, str) and value.endswith("Z") and bool(datetime.fromisoformat(value))
        )
    return isinstance(value, {"string": str, "integer": int, "boolean": bool}[kind])


@pytest.mark.parametrize("table", sorted(MAPPINGS))
def test_model_is_a_wot_thing_model(table: str) -> None:
    model = model_of(MAPPINGS[table])
    assert model["@context"][0] == "https://www.w3.org/2022/wot/td/v1.1"
    assert model["@type"] == "tm:ThingModel"
    assert model["version"] == {"model": "1.0.0"}
    for name, feature in submodels(model).items():
        assert feature["@type"] == "tm:ThingModel", name


@pytest.mark.parametrize("table", sorted(MAPPINGS))
def test_every_mapped_path_is_modelled_with_its_type(table: str) -> None:
    mapping = MAPPINGS[table]
    model, features = model_of(mapping), submodels(model_of(mapping))
    assert sorted(features) == sorted(mapping.features)
    for column, entry in mapping.columns.items():
        seg = entry.segments
        props = model["properties"] if seg[0] == "attributes" else features[seg[1]]["properties"]
        schema = schema_at(props, seg[1:] if seg[0] == "attributes" else seg[3:])
        kind, fmt = TM_TYPES[entry.type]
        assert (schema["type"], schema.get("format")) == (kind, fmt), column


@pytest.mark.parametrize("table", sorted(MAPPINGS))
def test_nothing_is_modelled_that_the_mapping_does_not_emit(table: str) -> None:
    mapping = MAPPINGS[table]
    model = model_of(mapping)
    attributes = {e.segments[1] for e in mapping.columns.values() if e.segments[0] == "attributes"}
    assert set(model["properties"]) == attributes | set(mapping.constant_attributes)
    for name, feature in submodels(model).items():
        emitted = {
            e.segments[3]
            for e in mapping.columns.values()
            if e.segments[0] == "features" and e.segments[1] == name
        }
        assert set(feature["properties"]) == emitted, name


@pytest.mark.parametrize("table", sorted(MAPPINGS))
def test_emitted_twin_validates_against_its_model(table: str) -> None:
    mapping = MAPPINGS[table]
    thing = json.loads(dumps(to_thing(mapping, ROWS[table], models_url=MODELS_URL)))
    model = model_of(mapping)
    attributes = thing["attributes"]
    assert all(valid(v, model["properties"][k]) for k, v in attributes.items())
    required = [r.removeprefix("#/properties/") for r in model.get("tm:required", [])]
    assert all(name in attributes for name in required)
    features = submodels(model)
    assert set(thing["features"]) == set(features)
    for name, feature in thing["features"].items():
        props = features[name]["properties"]
        assert all(valid(v, props[k]) for k, v in feature["properties"].items()), name


def test_models_are_served_under_the_configured_base() -> None:
    served = thing_models("http://models.internal:9000/tm/")
    assert sorted(served) == sorted(p.name for p in SCHEMAS_DIR.glob("*.tm.jsonld"))
    well = json.loads(served["well-1.0.0.tm.jsonld"])
    hrefs = [link["href"] for link in well["links"]]
    assert hrefs[0] == "http://models.internal:9000/tm/well-completion-1.0.0.tm.jsonld"
    assert well["properties"] == load_thing_model("well-1.0.0.tm.jsonld")["properties"]
    assert (
        thing_models(MODELS_URL)["basin-1.0.0.tm.jsonld"]
        == (SCHEMAS_DIR / "basin-1.0.0.tm.jsonld").read_bytes()
    )
