"""Debezium records written by an Avro converter -> the same decoded events as JSON.

Three framings name the writer schema (all are read):

- Confluent's wire format: magic byte 0, a 4-byte big-endian schema id, then the Avro
  body. Apicurio's converter writes it with `as-confluent` (its id is the content id,
  what the registry's Confluent-compatible API serves under /schemas/ids/<id>).
- Apicurio's default: magic byte 0 and an 8-byte global id. The bytes cannot tell it
  from Confluent's, so the reader is told which (`id_bytes`, STREAMS_SCHEMA_ID_BYTES).
- Apicurio's header format (its Kafka serializer with headers enabled): the body alone,
  the id in the record header `apicurio.<key|value>.globalId` (or `.contentId`) as an
  8-byte big-endian long. A header, when present, wins.

The body is read with the writer schema alone (fastavro), then turned into what Kafka's
JsonConverter would have written for the same Connect record (a {schema, payload}
document) and handed to the JSON Decoder. So both converters go through one typing
path, and the same row change gives the same RowChange whichever converter wrote it.

No I/O here: the writer schemas come from a SchemaSource the caller supplies (the
registry client, streams.registry), which may raise RegistryUnavailableError.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import fastavro

from streams.cdc._model import CdcRecord, Decoded, Headers
from streams.cdc._toast import DEFAULT_PLACEHOLDER
from streams.cdc._types import ColumnTypes
from streams.cdc.decoder import Decoder
from streams.errors import DecodeError

MAGIC = 0
_ID_HEADER = "apicurio.{part}.{kind}"


class IdKind(StrEnum):
    CONTENT = "contentId"  # the Confluent framing's 4-byte id, and Apicurio's contentId
    GLOBAL = "globalId"


@dataclass(frozen=True, slots=True)
class SchemaRef:
    """Which registry entry holds a record part's writer schema."""

    kind: IdKind
    id: int


class SchemaSource(Protocol):
    def schema(self, ref: SchemaRef) -> Sequence[Any]:
        """The writer schema of `ref` (Avro JSON, last) after each schema it references;
        DecodeError when the registry has none."""


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """One writer schema, parsed once: the reader for its bodies and its Connect shape."""

    ref: SchemaRef
    parsed: Any
    connect: dict[str, Any]
    has_bytes: bool  # a non-decimal bytes field: its values become base64, as in JSON


# -- framing ----------------------------------------------------------------------------


def frame(data: bytes, headers: Headers, part: str, id_bytes: int = 4) -> tuple[SchemaRef, bytes]:
    """The schema reference and the Avro body of a record's key or value; `id_bytes` is
    the width of the id after the magic byte (4: Confluent's content id, 8: a global id)."""
    for kind in (IdKind.GLOBAL, IdKind.CONTENT):
        header = _header(headers, _ID_HEADER.format(part=part, kind=kind))
        if header is not None:
            if len(header) != 8:
                raise DecodeError(f"header apicurio.{part}.{kind} is not an 8-byte id")
            return SchemaRef(kind, int.from_bytes(header, "big", signed=True)), data
    if len(data) < 1 + id_bytes or data[0] != MAGIC:
        raise DecodeError(
            f"the record {part} is not Avro framed by magic byte 0 and a {id_bytes}-byte "
            "schema id, and has no apicurio id header; is this topic JSON? set "
            "STREAMS_CDC_FORMAT=json, or check the connector's converter"
        )
    kind = IdKind.GLOBAL if id_bytes == 8 else IdKind.CONTENT
    return SchemaRef(kind, int.from_bytes(data[1 : 1 + id_bytes], "big")), data[1 + id_bytes :]


def _header(headers: Headers, name: str) -> bytes | None:
    return next((v for k, v in headers if k == name and v is not None), None)


# -- writer schema -> Connect schema ------------------------------------------------------

# Avro logical types without Connect's own name (a writer that is not Connect's AvroData):
# each is read as the Connect or Debezium type of the same unit, so the JSON path types it.
_LOGICAL_NAMES = {
    "date": "org.apache.kafka.connect.data.Date",
    "time-millis": "org.apache.kafka.connect.data.Time",
    "time-micros": "io.debezium.time.MicroTime",
    "timestamp-millis": "org.apache.kafka.connect.data.Timestamp",
    "timestamp-micros": "io.debezium.time.MicroTimestamp",
    "decimal": "org.apache.kafka.connect.data.Decimal",
}
_PRIMITIVES = {
    "int": "int32",
    "long": "int64",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "string": "string",
    "bytes": "bytes",
    "enum": "string",
    "fixed": "bytes",
}


def parse_writer(ref: SchemaRef, schemas: Sequence[Any]) -> WriterSchema:
    """Parse a writer schema (the last of `schemas`, after the ones it references) for
    reading; DecodeError when it is not valid Avro."""
    docs = [json.loads(d) if isinstance(d, str) else d for d in schemas]
    if not docs:
        raise DecodeError(f"schema {ref.kind} {ref.id}: the registry sent no schema")
    named: dict[str, Any] = {}
    try:
        for doc in docs:
            parsed = fastavro.parse_schema(_plain_times(doc), named_schemas=named)
    except (fastavro.schema.SchemaParseException, ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"schema {ref.kind} {ref.id} is not a valid Avro schema: {exc}") from exc
    shape = _ConnectShape()
    for doc in docs[:-1]:
        shape.convert(doc, "")
    connect = shape.convert(docs[-1], "")
    return WriterSchema(ref, parsed, connect, shape.bytes_seen)


def _plain_times(node: Any) -> Any:
    """The schema without time logical types: fastavro would turn their numbers into
    datetimes; kept as numbers, they are typed by their Connect name like JSON numbers.
    Decimals stay: fastavro reads them exactly, as Decimal."""
    if isinstance(node, list):
        return [_plain_times(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _plain_times(v) for k, v in node.items()}
    if out.get("logicalType") not in (None, "decimal"):
        del out["logicalType"]
    return out


def connect_schema(node: Any) -> dict[str, Any]:
    """The JsonConverter schema document of one self-contained Avro schema."""
    return _ConnectShape().convert(node, "")


class _ConnectShape:
    """Avro schema nodes -> JsonConverter schema documents, named types resolved."""

    def __init__(self) -> None:
        self.names: dict[str, dict[str, Any]] = {}
        self.bytes_seen = False  # a non-decimal bytes field: values become base64

    def convert(self, node: Any, namespace: str) -> dict[str, Any]:
        if isinstance(node, list):
            return self._union(node, namespace)
        if isinstance(node, str):
            return self._named(node, namespace) or self._primitive(node, {})
        kind = node.get("type")
        if kind == "record":
            return self._record(node, namespace)
        if kind == "array":
            items = self.convert(node["items"], namespace)
            return {"type": "array", "items": items, "optional": False}
        if kind == "map":
            values = self.convert(node["values"], namespace)
            return {"type": "map", "keys": {"type": "string"}, "values": values, "optional": False}
        if isinstance(kind, dict | list):
            return self.convert(kind, namespace)
        out = self._primitive(str(kind), node)
        if kind in ("enum", "fixed"):
            self.names[_full_name(node, namespace)] = out
        return out

    def _record(self, node: Mapping[str, Any], namespace: str) -> dict[str, Any]:
        full = _full_name(node, namespace)
        inner = full.rpartition(".")[0]
        out: dict[str, Any] = {"type": "struct", "optional": False, "fields": []}
        out["name"] = node.get("connect.name") or full
        self.names[full] = out  # before the fields: a record may name itself
        for f in node["fields"]:
            out["fields"].append({"field": f["name"], **self.convert(f["type"], inner)})
        return out

    def _named(self, name: str, namespace: str) -> dict[str, Any] | None:
        if name in _PRIMITIVES:
            return None
        found = self.names.get(name) or self.names.get(f"{namespace}.{name}")
        if found is None:
            raise DecodeError(f"the Avro schema names type {name!r} but does not define it")
        return found

    def _union(self, branches: list[Any], namespace: str) -> dict[str, Any]:
        others = [b for b in branches if b != "null"]
        if len(others) != 1:
            raise DecodeError(
                f"an Avro union of {others} has no Connect type; only [null, T] (an "
                "optional column) is read: check what wrote this topic"
            )
        return {**self.convert(others[0], namespace), "optional": "null" in branches}

    def _primitive(self, kind: str, node: Mapping[str, Any]) -> dict[str, Any]:
        if kind not in _PRIMITIVES:
            raise DecodeError(f"Avro type {kind!r} has no Connect type")
        out: dict[str, Any] = {"type": node.get("connect.type") or _PRIMITIVES[kind]}
        logical = node.get("logicalType")
        name = node.get("connect.name") or _LOGICAL_NAMES.get(str(logical))
        if name:
            out["name"] = name
        params = dict(node.get("connect.parameters") or {})
        if logical == "decimal":
            params.setdefault("scale", str(node.get("scale", 0)))
        if params:
            out["parameters"] = params
        if kind in ("bytes", "fixed") and logical != "decimal":
            self.bytes_seen = True
        out["optional"] = False
        return out


def _full_name(node: Mapping[str, Any], namespace: str) -> str:
    name = str(node["name"])
    if "." in name:
        return name
    space = node.get("namespace", namespace)
    return f"{space}.{name}" if space else name


# -- body -> JsonConverter's document ------------------------------------------------------


def read(writer: WriterSchema, body: bytes) -> dict[str, Any]:
    """The {schema, payload} document JsonConverter would have written for this body."""
    try:
        datum = fastavro.schemaless_reader(io.BytesIO(body), writer.parsed, None)
    except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(
            f"the Avro body does not match its writer schema {writer.ref.kind} "
            f"{writer.ref.id}: {exc}"
        ) from exc
    payload = _base64_bytes(datum) if writer.has_bytes else datum
    return {"schema": writer.connect, "payload": payload}


def _base64_bytes(value: Any) -> Any:
    """Bytes as JsonConverter writes them: base64 text (the JSON path decodes it back)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _base64_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_base64_bytes(v) for v in value]
    return value


# -- the decoder ------------------------------------------------------------------------------

NewSchema = Callable[[str, WriterSchema], None]


class AvroDecoder:
    """Decodes Avro records into the JSON Decoder's events, writer schemas from `source`.

    Parsed writer schemas are kept by id for the decoder's life (a registry id never
    changes its schema). `on_new_schema(table, schema)` runs once for each value schema
    first seen, so a caller can report columns a schema change added.
    """

    def __init__(
        self,
        source: SchemaSource,
        column_types: Mapping[str, ColumnTypes] | None = None,
        *,
        placeholder: str = DEFAULT_PLACEHOLDER,
        on_new_schema: NewSchema | None = None,
        id_bytes: int = 4,
    ) -> None:
        if id_bytes not in (4, 8):
            raise ValueError(f"id_bytes is 4 or 8, not {id_bytes}")
        self._id_bytes = id_bytes
        self._source = source
        self._json = Decoder(column_types, placeholder=placeholder)
        self._writers: dict[SchemaRef, WriterSchema] = {}
        self._on_new_schema = on_new_schema

    def decode(self, record: CdcRecord) -> Decoded:
        """One record -> one decoded event; DecodeError names record and cause, and
        RegistryUnavailableError (from the source) leaves the record to be retried."""
        try:
            key = self._document(record, record.key, "key")
            value = self._document(record, record.value, "value")
        except DecodeError as exc:
            raise DecodeError(f"{record.origin}: {exc}") from exc
        return self._json.decode_documents(record, key, value)

    def _document(self, record: CdcRecord, data: bytes | None, part: str) -> Any:
        if data is None:
            return None
        ref, body = frame(data, record.headers, part, self._id_bytes)
        return read(self._writer(ref, record.topic, part), body)

    def _writer(self, ref: SchemaRef, topic: str, part: str) -> WriterSchema:
        writer = self._writers.get(ref)
        if writer is None:
            writer = parse_writer(ref, self._source.schema(ref))
            self._writers[ref] = writer
            if part == "value" and self._on_new_schema is not None:
                self._on_new_schema(topic.rsplit(".", 1)[-1], writer)
        return writer


def row_columns(writer: WriterSchema) -> tuple[str, ...]:
    """The column names of a value schema's row image (`after` of an envelope, or the
    fields of a flattened row), in schema order."""
    fields = {f["field"]: f for f in writer.connect.get("fields", ())}
    after = fields.get("after")
    image = after if after is not None and after.get("type") == "struct" else writer.connect
    return tuple(
        f["field"] for f in image.get("fields", ()) if not str(f["field"]).startswith("__")
    )


__all__ = [
    "AvroDecoder",
    "IdKind",
    "SchemaRef",
    "SchemaSource",
    "WriterSchema",
    "connect_schema",
    "frame",
    "parse_writer",
    "read",
    "row_columns",
]
