"""The record decoder the settings ask for: JSON, or Avro with schemas from the registry."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from streams.cdc import Decoder, RecordDecoder
from streams.cdc.avro import AvroDecoder
from streams.config import Settings
from streams.mapping import TableMapping
from streams.registry.client import RegistryClient
from streams.state.unmapped_columns import Report, UnmappedColumns

log = logging.getLogger(__name__)


def log_unmapped(table: str, column: str) -> None:
    log.warning(
        "unmapped column table=%s column=%s: a schema change added it and no mapping "
        "names it; it does not reach the twin (add it to mappings/%s.toml if it should)",
        table,
        column,
        table,
    )


def record_decoder(
    settings: Settings,
    mappings: Mapping[str, TableMapping],
    *,
    report_unmapped: Report = log_unmapped,
) -> RecordDecoder:
    """Decoder of settings.cdc_format for the mapped tables."""
    types = {table: m.column_types for table, m in mappings.items()}
    if settings.cdc_format == "json":
        return Decoder(types)
    client = RegistryClient(settings.schema_registry_url, timeout=settings.schema_registry_timeout)
    return AvroDecoder(
        client,
        types,
        on_new_schema=UnmappedColumns(mappings, report_unmapped),
        id_bytes=settings.schema_id_bytes,
    )


__all__ = ["log_unmapped", "record_decoder"]
