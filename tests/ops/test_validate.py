"""`streams validate` on the real Postgres and a Ditto stand-in of this module's own.

The shared Ditto is used by others, so the module starts its own stand-in on a free
loopback port (as `streams stack up` starts the shared one), bootstraps the policies of
two tenants of its own, and copies real sample rows into those tenants. Tenant A's rows
get their twins, mapped by the sync's own mapping code; tenant B's rows get none.
"""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from typer.testing import CliRunner, Result

from streams.cli import app
from streams.config import Settings, get_settings
from streams.ditto.bootstrap import bootstrap, desired_state, policy_ids
from streams.ditto.protocol import ORIGIN_HEADER, decode, parse_event
from streams.errors import ConfigError
from streams.kafka.admin import ensure_topics
from streams.kafka.reader import TopicRecord, read_to_end
from streams.kafka.topics import TopicSpec
from streams.mapping import identity, load_mappings, to_thing
from streams.ops._legacy_rows import legacy_rows
from streams.ops._twins import Twins
from streams.ops.validate import Options, validate
from streams.stack import ditto
from streams.state.twin_flow import Skipped, TwinFlow

pytestmark = pytest.mark.stack

BASIN_COLUMNS = (
    "code, name, country, region, basin_type, age, tectonic_setting, area_km2, min_lat, "
    "max_lat, min_lon, max_lon"
)
WELL_COLUMNS = (
    "well_code, name, api_number, well_type, lift_method, tubing_size, casing_size, "
    "oil_rate_bopd, gas_rate_mscfd, water_rate_bwpd, status, last_update"
)


def _basins(n: int) -> str:
    """Codes of real basins, those with bounds first."""
    return (
        "(SELECT code FROM basins WHERE tenant = 'acme' GROUP BY code "
        f"ORDER BY bool_and(min_lat IS NULL), code LIMIT {n})"
    )


def _wells(n: int) -> str:
    """Codes of real wells: the Volve wells with rates first (one key holds a slash and a
    space), then Norwegian shelf wells without."""
    return (
        "(SELECT well_code FROM wells WHERE tenant IN ('acme', 'nordic') GROUP BY well_code "
        f"ORDER BY bool_and(oil_rate_bopd IS NULL), well_code LIMIT {n})"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def own_ditto(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = cdc_stack.model_copy(
        update={
            "stack_dir": tmp_path_factory.mktemp("validate-stack"),
            "ditto_url": f"http://127.0.0.1:{_free_port()}",
        }
    )
    ditto.up(settings)
    try:
        yield settings
    finally:
        ditto.down(settings)


@dataclass(frozen=True)
class Estate:
    settings: Settings
    tenant: str  # rows with twins
    bare_tenant: str  # rows without twins
    no_policy_tenant: str  # a row whose tenant has no policy in Ditto

    def rows(self) -> list[dict[str, Any]]:
        with psycopg.connect(self.settings.pg_dsn, row_factory=dict_row) as conn:
            return [
                *conn.execute("SELECT * FROM basins WHERE tenant = %s", (self.tenant,)),
                *conn.execute("SELECT * FROM wells WHERE tenant = %s", (self.tenant,)),
            ]


def _copy_rows(conn: psycopg.Connection[Any], tenant: str, basins: str, wells: str) -> None:
    conn.execute(
        f"INSERT INTO basins (tenant, {BASIN_COLUMNS}) SELECT DISTINCT ON (code) %s, "
        f"{BASIN_COLUMNS} FROM basins WHERE code IN {basins} ORDER BY code",
        (tenant,),
    )
    conn.execute(
        f"INSERT INTO wells (tenant, {WELL_COLUMNS}) SELECT DISTINCT ON (well_code) %s, "
        f"{WELL_COLUMNS} FROM wells WHERE well_code IN {wells} ORDER BY well_code",
        (tenant,),
    )


@pytest.fixture(scope="module")
def estate(own_ditto: Settings) -> Iterator[Estate]:
    suffix = uuid.uuid4().hex[:8]
    found = Estate(own_ditto, f"tval{suffix}", f"tvalbare{suffix}", f"tvalnopol{suffix}")
    with psycopg.connect(own_ditto.pg_dsn, autocommit=True) as conn:
        _copy_rows(conn, found.tenant, _basins(5), _wells(12))
        _copy_rows(conn, found.bare_tenant, _basins(1), _wells(1))
        _copy_rows(conn, found.no_policy_tenant, _basins(0), _wells(1))
        try:
            _fill_ditto(found)
            yield found
        finally:
            for table in ("wells", "basins"):
                conn.execute(
                    f"DELETE FROM {table} WHERE tenant IN (%s, %s, %s)",
                    (found.tenant, found.bare_tenant, found.no_policy_tenant),
                )


def _fill_ditto(estate: Estate) -> None:
    """Tenant policies by `streams ditto bootstrap`'s code, twins by the sync's mapping."""
    settings = estate.settings
    mappings = load_mappings(settings.mappings_dir)
    tenants = [estate.tenant, estate.bare_tenant]
    bootstrap(settings, policy_ids(mappings, tenants), kinds=("policy",))
    twins = Twins(settings)
    try:
        for mapping in mappings.values():
            for chunk in legacy_rows(settings, mapping, tenants=(estate.tenant,)):
                for row in chunk:
                    twins.modify(to_thing(mapping, row, models_url=settings.thing_models_url), {})
    finally:
        twins.close()


def _cli(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Result:
    get_settings.cache_clear()
    # The command sets up logging on the runner's stderr, which closes after the call.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        env = env or {"STREAMS_DITTO_URL": settings.ditto_url}
        return CliRunner().invoke(app, ["validate", *args], env=env)
    finally:
        root.handlers[:], root.level = handlers, level
        get_settings.cache_clear()


def _json(result: Result) -> Any:
    return json.loads(result.stdout, parse_float=Decimal)


def test_twins_made_by_the_mapping_give_no_difference(estate: Estate) -> None:
    result = _cli(estate.settings, "--tenant", estate.tenant)

    assert result.exit_code == 0, result.output
    assert "0 differences" in result.stdout
    report = _json(_cli(estate.settings, "--tenant", estate.tenant, "--json"))
    assert report["ok"] is True
    assert report["tables"]["basins"] == _tally(checked=5, equal=5)
    assert report["tables"]["wells"] == _tally(checked=12, equal=12)
    assert report["wrong"] == []


def _tally(**counts: int) -> dict[str, int]:
    return {"checked": 0, "equal": 0, "differing": 0, "missing": 0, "unmappable": 0, **counts}


# -- injected differences ---------------------------------------------------------------


def _thing_id(estate: Estate, table: str, key: dict[str, str]) -> str:
    mapping = load_mappings(estate.settings.mappings_dir)[table]
    return identity(mapping, {"tenant": estate.tenant, **key}).thing_id


def _rows(estate: Estate, table: str) -> list[dict[str, Any]]:
    with psycopg.connect(estate.settings.pg_dsn, row_factory=dict_row) as conn:
        query = f"SELECT * FROM {table} WHERE tenant = %s ORDER BY 2"
        return list(conn.execute(query, (estate.tenant,)))


def _row(estate: Estate, table: str, where: str) -> dict[str, Any]:
    with psycopg.connect(estate.settings.pg_dsn, row_factory=dict_row) as conn:
        row = conn.execute(
            f"SELECT * FROM {table} WHERE tenant = %s AND {where} ORDER BY 2 LIMIT 1",
            (estate.tenant,),
        ).fetchone()
    assert row is not None, where
    return row


def _api(settings: Settings) -> httpx.Client:
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    return httpx.Client(base_url=f"{settings.ditto_url}/api/2/things", auth=auth, timeout=10)


def _put_raw(api: httpx.Client, path: str, json_text: str) -> None:
    headers = {"content-type": "application/json"}
    assert api.put(path, content=json_text, headers=headers).status_code == 204


def _inject(estate: Estate) -> dict[tuple[str, str], tuple[str, Any, Any]]:
    """Six wrong twins; -> (thing id, path) -> (kind, legacy value, twin value)."""
    basin = _row(estate, "basins", "min_lat IS NOT NULL")
    wells = _rows(estate, "wells")
    rated, other = [w for w in wells if w["oil_rate_bopd"] is not None][:2]
    plain, gone = [w for w in wells if w["oil_rate_bopd"] is None and w["well_type"]][:2]
    b_id = _thing_id(estate, "basins", {"code": basin["code"]})
    ids = {
        name: _thing_id(estate, "wells", {"well_code": row["well_code"]})
        for name, row in (("rated", rated), ("plain", plain), ("other", other), ("gone", gone))
    }
    off = basin["min_lat"] + Decimal("0.000001")
    with _api(estate.settings) as api:
        _put_raw(api, f"/{b_id}/features/location/properties/bounds/minLat", str(off))
        _put_raw(api, f"/{ids['plain']}/attributes/name", '"renamed in Ditto"')
        _put_raw(api, f"/{ids['plain']}/features/completion/properties/wellType", '"INJECTOR"')
        _put_raw(api, f"/{ids['rated']}/features/production/properties/gasRateMscfd", '"high"')
        assert api.delete(f"/{ids['other']}/features/production").status_code == 204
        assert api.delete(f"/{ids['gone']}").status_code == 204
    production = {
        "oilRateBopd": other["oil_rate_bopd"],
        "gasRateMscfd": other["gas_rate_mscfd"],
        "waterRateBwpd": other["water_rate_bwpd"],
    }
    return {
        (b_id, "features/location/properties/bounds/minLat"): (
            "value-differs",
            basin["min_lat"],
            off,
        ),
        (ids["plain"], "attributes/name"): ("value-differs", plain["name"], "renamed in Ditto"),
        (ids["plain"], "features/completion/properties/wellType"): (
            "value-differs",
            plain["well_type"],
            "INJECTOR",
        ),
        (ids["rated"], "features/production/properties/gasRateMscfd"): (
            "type-differs",
            rated["gas_rate_mscfd"],
            "high",
        ),
        (ids["other"], "features/production"): (
            "path-missing",
            {"properties": production},
            None,
        ),
        (ids["gone"], "/"): ("missing-twin", ids["gone"], None),
    }


def _found(report: Any) -> dict[tuple[str, str], tuple[str, Any, Any]]:
    return {
        (row["thingId"], diff["path"]): (diff["kind"], diff["legacy"], diff["twin"])
        for row in report["wrong"]
        for diff in row["diffs"]
    }


def _same(found: Any, injected: Any) -> bool:
    """Equal, numbers compared as decimals (the JSON has 7.500001 where the row has
    7.500001 at scale 6; 450.000 in the row is 450 in JSON)."""
    if isinstance(injected, dict):
        return found.keys() == injected.keys() and all(
            _same(found[k], v) for k, v in injected.items()
        )
    if isinstance(injected, Decimal):
        return isinstance(found, Decimal | int) and Decimal(found) == injected
    return bool(found == injected)


def test_injected_differences_are_found_then_repaired(estate: Estate) -> None:
    before = estate.rows()
    injected = _inject(estate)

    result = _cli(estate.settings, "--tenant", estate.tenant, "--json")

    assert result.exit_code == 1, result.output
    found = _found(_json(result))
    assert found.keys() == injected.keys()
    for where, (kind, legacy, twin) in injected.items():
        assert found[where][0] == kind, where
        assert _same(found[where][1], legacy), (where, found[where][1], legacy)
        assert _same(found[where][2], twin), (where, found[where][2], twin)

    table = _cli(estate.settings, "--tenant", estate.tenant)
    assert table.exit_code == 1
    assert "6 difference(s) in 5 twin(s), 1 missing" in table.stdout
    assert "renamed in Ditto" in table.stdout

    repair = _cli(estate.settings, "--tenant", estate.tenant, "--repair", "--json")

    assert repair.exit_code == 0, repair.output
    repairs = _json(repair)["repairs"]
    assert sorted((r["thingId"], r["command"], r["fixed"]) for r in repairs) == sorted(
        {(t, "modify" if p == "/" else "merge", True) for t, p in injected}
    )
    again = _cli(estate.settings, "--tenant", estate.tenant)
    assert again.exit_code == 0, again.output
    assert "0 differences" in again.stdout
    assert estate.rows() == before  # the legacy side is only read


@pytest.fixture
def event_topic(estate: Estate) -> Iterator[str]:
    """The twin events of our Ditto on a topic of our own, through the sync's template of
    the event connection (as `streams ditto bootstrap` sets it up)."""
    suffix = uuid.uuid4().hex[:8]
    settings = estate.settings.model_copy(
        update={
            "event_topic": f"validate-events-{suffix}",
            "ditto_event_connection": f"validate-events-{suffix}",
        }
    )
    ensure_topics(settings.kafka_bootstrap, [TopicSpec(settings.event_topic, 1)])
    [connection] = [
        e for e in desired_state(settings, []) if e.entity_id == settings.ditto_event_connection
    ]
    auth = (settings.ditto_devops_user, settings.ditto_devops_password.get_secret_value())
    with httpx.Client(base_url=settings.ditto_url, auth=auth, timeout=10) as devops:
        assert devops.put(connection.path, json=connection.body).status_code == 201
        try:
            yield settings.event_topic
        finally:
            devops.delete(connection.path)


def _events_of(settings: Settings, topic: str, thing_id: str, count: int) -> list[TopicRecord]:
    """The first `count` events of `thing_id` in `topic` (a bounded poll)."""
    deadline = time.monotonic() + 30
    while True:
        records = read_to_end(settings.kafka_bootstrap, topic)
        found = [r for r in records if r.key == thing_id.encode()]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_repair_comes_back_from_ditto_as_an_echo_the_way_back_drops(
    estate: Estate, event_topic: str
) -> None:
    well = _rows(estate, "wells")[-1]
    thing_id = _thing_id(estate, "wells", {"well_code": well["well_code"]})
    with _api(estate.settings) as api:
        _put_raw(api, f"/{thing_id}/attributes/name", '"edited by a person"')

    report = validate(estate.settings, Options(tenants=(estate.tenant,), repair=True))

    assert [(r.thing_id, r.fixed) for r in report.repairs or ()] == [(thing_id, True)]
    edit, repair = _events_of(estate.settings, event_topic, thing_id, 2)[:2]
    flow = TwinFlow(load_mappings(estate.settings.mappings_dir))
    # The person's edit carries no origin of ours: it is what the way back must write.
    assert parse_event(decode(edit.value or b"")).header(ORIGIN_HEADER) is None
    outcome = flow.process(repair.value or b"", {}, {})
    assert isinstance(outcome, Skipped) and outcome.kind == "echo", outcome


def test_a_repair_ditto_refuses_is_reported_with_the_fix(estate: Estate) -> None:
    tenant = estate.no_policy_tenant

    result = _cli(estate.settings, "--tenant", tenant, "--repair", "--json")

    assert result.exit_code == 1, result.output
    [repair] = _json(result)["repairs"]
    assert repair["command"] == "modify" and repair["fixed"] is False
    assert "policies:policy.notfound" in repair["error"]
    assert f"streams ditto bootstrap --tenant {tenant}" in repair["error"]


# -- selection ----------------------------------------------------------------------------


def test_tenant_limits_the_rows_and_their_missing_twins_are_found(estate: Estate) -> None:
    result = _cli(estate.settings, "--tenant", estate.bare_tenant, "--table", "wells", "--json")

    assert result.exit_code == 1, result.output
    report = _json(result)
    assert list(report["tables"]) == ["wells"]
    assert report["tables"]["wells"] == _tally(checked=1, missing=1)
    assert [r["thingId"].split(":")[0] for r in report["wrong"]] == [estate.bare_tenant]
    unknown = _cli(estate.settings, "--tenant", f"{estate.tenant}x")
    assert unknown.exit_code == 2, unknown.output
    assert "check --tenant" in unknown.stderr


def test_tenant_is_repeatable_and_each_tenant_is_checked(estate: Estate) -> None:
    both = ("--tenant", estate.tenant, "--tenant", estate.bare_tenant, "--table", "wells")

    result = _cli(estate.settings, *both, "--json")

    assert result.exit_code == 1, result.output
    report = _json(result)
    assert report["tables"]["wells"] == _tally(checked=13, equal=12, missing=1)
    assert {r["thingId"].split(":")[0] for r in report["wrong"]} == {estate.bare_tenant}
    absent = f"{estate.tenant}x"
    unknown = _cli(estate.settings, "--tenant", estate.tenant, "--tenant", absent)
    assert unknown.exit_code == 2, unknown.output
    assert repr(absent) in unknown.stderr and "check --tenant" in unknown.stderr


def test_a_table_named_twice_is_checked_once(estate: Estate) -> None:
    result = _cli(
        estate.settings, "--tenant", estate.tenant, "-t", "wells", "-t", "wells", "--json"
    )

    assert result.exit_code == 0, result.output
    report = _json(result)
    assert list(report["tables"]) == ["wells"]
    assert report["checked"] == 12


@pytest.fixture
def colliding_tenant(estate: Estate) -> Iterator[str]:
    """A tenant of two wells whose keys make one thing id ('A-1' and 'a 1' both slug to a-1)."""
    tenant = f"tvalslug{uuid.uuid4().hex[:8]}"
    with psycopg.connect(estate.settings.pg_dsn, autocommit=True) as conn:
        for code in ("A-1", "a 1"):
            conn.execute(
                "INSERT INTO wells (tenant, well_code, name) VALUES (%s, %s, %s)",
                (tenant, code, f"well {code}"),
            )
        try:
            yield tenant
        finally:
            conn.execute("DELETE FROM wells WHERE tenant = %s", (tenant,))


def test_unmappable_rows_are_in_the_json_with_their_reason(
    estate: Estate, colliding_tenant: str
) -> None:
    result = _cli(estate.settings, "--tenant", colliding_tenant, "--table", "wells", "--json")

    assert result.exit_code == 1, result.output  # the row that maps has no twin
    report = _json(result)
    assert report["tables"]["wells"] == _tally(checked=1, missing=1, unmappable=1)
    [unmappable] = report["unmappable"]
    assert unmappable["table"] == "wells"
    assert unmappable["key"] in {f"{colliding_tenant}/A-1", f"{colliding_tenant}/a 1"}
    assert f"makes the same thing id {colliding_tenant}:well-a-1" in unmappable["reason"]


def test_a_sample_beyond_what_postgres_takes_is_a_usage_error(estate: Estate) -> None:
    result = _cli(estate.settings, "--tenant", estate.tenant, "--sample", "9" * 20)

    assert result.exit_code == 2, result.output
    assert "--sample" in result.output
    assert "streams stack up" not in result.output
    with pytest.raises(ConfigError, match="--sample takes 1 to"):
        validate(estate.settings, Options(tenants=(estate.tenant,), sample=2**63))


def test_a_seed_without_a_sample_is_a_usage_error(estate: Estate) -> None:
    result = _cli(estate.settings, "--tenant", estate.tenant, "--seed", "7")

    assert result.exit_code == 2, result.output
    assert "--sample" in result.stderr
    with pytest.raises(ConfigError, match="--sample"):
        validate(estate.settings, Options(tenants=(estate.tenant,), seed=7))


def test_a_sample_is_n_rows_per_table_and_its_seed_picks_the_same_rows(estate: Estate) -> None:
    mapping = load_mappings(estate.settings.mappings_dir)["wells"]

    def picked(seed: int) -> list[str]:
        chunks = legacy_rows(
            estate.settings, mapping, tenants=(estate.tenant,), sample=4, seed=seed
        )
        return sorted(row["well_code"] for chunk in chunks for row in chunk)

    assert len(picked(7)) == 4
    assert picked(7) == picked(7)
    assert picked(7) != picked(8)
    result = _cli(estate.settings, "--tenant", estate.tenant, "--sample", "3", "--seed", "7")
    assert result.exit_code == 0, result.output
    report = validate(estate.settings, Options(tenants=(estate.tenant,), sample=3))
    assert {t.checked for t in report.tallies.values()} == {3}
    assert report.seed is not None and report.ok


def _closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


closed_port = pytest.fixture(_closed_port)


def test_unreachable_ditto_or_postgres_exits_2_naming_the_fix(
    estate: Estate, closed_port: int, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    unreachable = estate.settings.model_copy(update={"ditto_url": url})
    no_ditto = _cli(unreachable, "--tenant", estate.tenant)
    no_pg = _cli(estate.settings, env={"STREAMS_PG_PORT": str(closed_port)})

    assert no_ditto.exit_code == 2, no_ditto.output
    assert "STREAMS_DITTO_URL" in no_ditto.stderr
    assert no_pg.exit_code == 2, no_pg.output
    assert "streams stack up" in no_pg.stderr
