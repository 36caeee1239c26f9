"""No credential ever reaches a log line, in either log format, on the paths that touch
them: `streams ditto bootstrap` (accepted, and refused with 401), `streams read` (Ditto
without the twin, then Postgres refusing the password) and a worker whose sink cannot
log in to Postgres and retries.

Ditto is a stand-in of the module's own, started with distinctive passwords; the
Postgres password is distinctive and wrong (the shared Postgres cannot take another), so
every Postgres path here is the error path, where a leak is likeliest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Producer
from pydantic import SecretStr

from streams.config import Settings
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import owned_topics
from streams.ops.worker_process import WorkerProcess, free_port
from streams.state.twin_flow import SinkChange, SinkOp
from tests._own_worker import as_env, start_at_the_end
from tests.agents._loop import own_settings

pytestmark = pytest.mark.stack

RUN = uuid.uuid4().hex[:8]
PG_PASSWORD = f"pg-Secret-{RUN}"
DITTO_PASSWORD = f"ditto-Secret-{RUN}"
DEVOPS_PASSWORD = f"devops-Secret-{RUN}"
WRONG_DEVOPS_PASSWORD = f"devops-Wrong-{RUN}"
SECRETS = (PG_PASSWORD, DITTO_PASSWORD, DEVOPS_PASSWORD, WRONG_DEVOPS_PASSWORD)
FORMATS = {"json": "--log-json", "key=value": "--no-log-json"}


@dataclass(frozen=True)
class Secrets:
    settings: Settings
    env: dict[str, str]  # every STREAMS_* a command of this module runs with


@pytest.fixture(scope="module")
def secrets(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secrets]:
    from streams.stack import ditto

    fields = own_settings("logs", RUN)
    settings = cdc_stack.model_copy(
        update={
            **fields,
            "stack_dir": tmp_path_factory.mktemp("stack"),
            "ditto_url": f"http://127.0.0.1:{free_port()}",
            "ditto_password": SecretStr(DITTO_PASSWORD),
            "ditto_devops_password": SecretStr(DEVOPS_PASSWORD),
        }
    )
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    env = {
        **as_env(fields),
        "STREAMS_DITTO_URL": settings.ditto_url,
        "STREAMS_DITTO_PASSWORD": DITTO_PASSWORD,
        "STREAMS_DITTO_DEVOPS_PASSWORD": DEVOPS_PASSWORD,
        "STREAMS_PG_PASSWORD": PG_PASSWORD,
        "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("data")),
    }
    ditto.up(settings)  # the stand-in takes its passwords from these settings
    try:
        yield Secrets(settings, env)
    finally:
        ditto.down(settings)


def _streams(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_no_secret(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"a password reached the output: {output[-1500:]}"


def _assert_format(output: str, log_format: str) -> None:
    """Each log line in the chosen format (stdout of the commands is not a log)."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines
    if log_format == "json":
        for line in lines:
            assert isinstance(json.loads(line), dict), line
    else:
        for line in lines:
            assert line.startswith(("ts=", " ", "Traceback")), line


@pytest.mark.parametrize("log_format", FORMATS)
def test_bootstrap_logs_no_password_accepted_or_refused(secrets: Secrets, log_format: str) -> None:
    options = [FORMATS[log_format], "--log-level", "DEBUG"]
    tenant = ["--tenant", f"tlogs{RUN}"]

    accepted = _streams(secrets.env, *options, "ditto", "bootstrap", *tenant)
    wrong = {**secrets.env, "STREAMS_DITTO_DEVOPS_PASSWORD": WRONG_DEVOPS_PASSWORD}
    refused = _streams(wrong, *options, "ditto", "bootstrap", *tenant)

    assert accepted.returncode == 0, accepted.stderr
    assert refused.returncode == 2 and "STREAMS_DITTO_DEVOPS_PASSWORD" in refused.stderr
    for done in (accepted, refused):
        _assert_no_secret(done.stdout + done.stderr)


@pytest.mark.parametrize("log_format", FORMATS)
def test_read_logs_no_password_when_postgres_refuses_it(secrets: Secrets, log_format: str) -> None:
    options = [FORMATS[log_format], "--log-level", "DEBUG"]

    done = _streams(secrets.env, *options, "read", "--json", f"tlogs{RUN}:well-x-1")

    assert done.returncode != 0
    assert "password authentication failed" in done.stderr
    _assert_no_secret(done.stdout + done.stderr)


def _sink_change(tenant: str) -> bytes:
    change = SinkChange(
        table="wells",
        op=SinkOp.UPSERT,
        key={"tenant": tenant, "well_code": "X-1"},
        revision=2,
        thing_id=f"{tenant}:well-x-1",
        columns={"oil_rate_bopd": "1.5"},
    )
    return change.to_json()


def _wait_for(log_file: Path, text: str, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + 60
    while text not in log_file.read_text():
        assert worker.alive(), log_file.read_text()[-2000:]
        assert time.monotonic() < deadline, f"no {text!r} in {log_file}"
        time.sleep(0.5)


@pytest.mark.parametrize("log_format", FORMATS)
def test_a_worker_whose_sink_cannot_log_in_logs_no_password(
    secrets: Secrets, log_format: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    group = {"consumer_group": f"test-logs-{run}"}
    start_at_the_end(secrets.settings.model_copy(update=group))
    # The sink retries for as long as Postgres refuses it, so the stop runs into its bound.
    env = {**secrets.env, **as_env(group), "STREAMS_WORKER_STOP_TIMEOUT": "3"}
    worker = WorkerProcess(
        tmp_path / "worker.log", env, options=[FORMATS[log_format], "--log-level", "DEBUG"]
    )
    worker.start()
    try:
        producer = Producer({"bootstrap.servers": secrets.settings.kafka_bootstrap})
        tenant = f"tlogs{run}"
        producer.produce(secrets.settings.sink_topic, _sink_change(tenant), tenant.encode())
        assert producer.flush(10) == 0
        _wait_for(worker.log_file, "password authentication failed", worker)
    finally:
        worker.stop()

    output = worker.log_file.read_text()
    _assert_no_secret(output)
    _assert_format(output, log_format)
    assert "retry agent=postgres-sink peer=postgres origin=test.sink." in output
