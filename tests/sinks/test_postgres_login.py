"""A sink whose login Postgres refuses says which settings to fix, not just "unavailable"."""

from __future__ import annotations

import psycopg
import pytest

from streams.config import Settings
from streams.sinks.postgres import _unavailable

pytestmark = pytest.mark.stack


def test_a_refused_password_names_the_settings(cdc_stack: Settings) -> None:
    dsn = cdc_stack.pg_dsn.replace(
        f"password={cdc_stack.pg_password.get_secret_value()}", "password=not-the-password"
    )
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(dsn, connect_timeout=5)

    message = str(_unavailable(refused.value))

    assert "password authentication failed" in message
    assert "STREAMS_PG_PASSWORD" in message


def test_an_outage_gets_no_login_hint(cdc_stack: Settings) -> None:
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("host=127.0.0.1 port=1 dbname=x user=x password=x", connect_timeout=5)

    assert "STREAMS_PG_PASSWORD" not in str(_unavailable(refused.value))
