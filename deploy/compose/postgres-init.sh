#!/usr/bin/env bash
# The legacy database for docker-compose.test.yml, provisioned as `streams stack up` does
# (streams/stack/postgres.py): the owner and replication roles, their common group, the
# database, the schema of deploy/postgres/legacy_schema.sql created as that group, and the
# replication origin the Postgres sink marks its own writes with. The official postgres
# image runs this once, on an empty data directory.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE "$LEGACY_USER" WITH LOGIN PASSWORD '$LEGACY_PASSWORD';
CREATE ROLE "$CDC_USER" WITH LOGIN REPLICATION PASSWORD '$CDC_PASSWORD';
CREATE ROLE legacy_owners WITH NOLOGIN;
GRANT legacy_owners TO "$LEGACY_USER";
GRANT legacy_owners TO "$CDC_USER";
CREATE DATABASE "$LEGACY_DATABASE" OWNER "$LEGACY_USER";
SQL

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$LEGACY_DATABASE" <<SQL
GRANT CREATE ON DATABASE "$LEGACY_DATABASE" TO "$CDC_USER";
GRANT USAGE, CREATE ON SCHEMA public TO legacy_owners;
SET ROLE legacy_owners;
\i /legacy/legacy_schema.sql
RESET ROLE;
SELECT pg_replication_origin_create('ditto_streams_sink');
GRANT EXECUTE ON FUNCTION pg_replication_origin_session_setup(text) TO "$LEGACY_USER";
GRANT EXECUTE ON FUNCTION pg_replication_origin_session_reset() TO "$LEGACY_USER";
GRANT EXECUTE ON FUNCTION pg_replication_origin_xact_setup(pg_lsn, timestamptz)
  TO "$LEGACY_USER";
SQL
