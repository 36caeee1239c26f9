-- The legacy estate: basins and wells, as the operator keeps them today.
--
-- The primary keys are the business keys (tenant + code). Debezium puts the
-- primary key into every event's key, and under REPLICA IDENTITY DEFAULT a
-- delete carries only the key columns, so the twin's id must be derivable
-- from the key alone.
--
-- twin_revision is written only by the ditto-streams Postgres sink: it holds
-- the Ditto revision a row was last brought to, so an older twin event can
-- never overwrite a newer one.

CREATE TABLE IF NOT EXISTS basins (
    tenant            text        NOT NULL,
    code              text        NOT NULL,
    name              text        NOT NULL,
    country           text,
    region            text,
    basin_type        text,
    age               text,
    tectonic_setting  text,
    area_km2          numeric(14, 3),
    min_lat           numeric(9, 6),
    max_lat           numeric(9, 6),
    min_lon           numeric(10, 6),
    max_lon           numeric(10, 6),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    twin_revision     bigint,
    PRIMARY KEY (tenant, code)
);

CREATE TABLE IF NOT EXISTS wells (
    tenant            text        NOT NULL,
    well_code         text        NOT NULL,
    name              text        NOT NULL,
    api_number        text,
    basin_code        text,
    well_type         text,
    lift_method       text,
    tubing_size       numeric(6, 3),
    casing_size       numeric(6, 3),
    oil_rate_bopd     numeric(12, 3),
    gas_rate_mscfd    numeric(12, 3),
    water_rate_bwpd   numeric(12, 3),
    status            text,
    last_update       timestamptz,
    npdid_wellbore    bigint,
    field             text,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    twin_revision     bigint,
    PRIMARY KEY (tenant, well_code),
    FOREIGN KEY (tenant, basin_code) REFERENCES basins (tenant, code)
);

-- Daily production history (Volve). Not mapped to twins; kept because the
-- estate has it and the historical migration replays what the topics hold.
CREATE TABLE IF NOT EXISTS well_production_daily (
    tenant            text        NOT NULL,
    well_code         text        NOT NULL,
    day               date        NOT NULL,
    oil_vol_sm3       numeric,
    gas_vol_sm3       numeric,
    water_vol_sm3     numeric,
    water_inj_vol_sm3 numeric,
    on_stream_hrs     numeric,
    PRIMARY KEY (tenant, well_code, day),
    FOREIGN KEY (tenant, well_code) REFERENCES wells (tenant, well_code)
);

-- Debezium's signal table, for incremental snapshots (streams replay --from-snapshot).
CREATE TABLE IF NOT EXISTS debezium_signal (
    id   varchar(42) PRIMARY KEY,
    type varchar(32) NOT NULL,
    data varchar(2048)
);
