"""The registry client against the stack's Apicurio Registry, and against none."""

from __future__ import annotations

import httpx
import pytest

from streams.cdc.avro import IdKind, SchemaRef, frame, parse_writer, row_columns
from streams.config import Settings
from streams.errors import DecodeError, RegistryUnavailableError
from streams.ops.worker_process import free_port
from streams.registry import RegistryClient
from tests.registry._kafka import read_records

pytestmark = pytest.mark.stack


def _basins_value_ref(settings: Settings) -> SchemaRef:
    topic = f"{settings.avro_topic_prefix}.public.basins"
    records = read_records(settings.kafka_bootstrap, topic, lambda got: bool(got))
    assert records[0].value is not None
    ref, _ = frame(records[0].value, records[0].headers, "value")
    return ref


def test_a_content_id_gives_the_writer_schema_after_the_source_it_references(
    avro_stack: Settings,
) -> None:
    client = RegistryClient(avro_stack.schema_registry_url)
    ref = _basins_value_ref(avro_stack)
    schemas = client.schema(ref)
    assert [s["name"] for s in schemas] == ["Source", "Envelope"]
    writer = parse_writer(ref, schemas)
    assert {"tenant", "code", "name", "area_km2"} <= set(row_columns(writer))


def test_a_global_id_of_the_same_artifact_gives_the_same_columns(avro_stack: Settings) -> None:
    artifact = f"{avro_stack.avro_topic_prefix}.public.basins-value"
    meta = httpx.get(
        f"{avro_stack.schema_registry_url}/apis/registry/v2/groups/default/artifacts/"
        f"{artifact}/meta",
        timeout=5.0,
    ).json()
    client = RegistryClient(avro_stack.schema_registry_url)
    by_global = SchemaRef(IdKind.GLOBAL, int(meta["globalId"]))
    by_content = SchemaRef(IdKind.CONTENT, int(meta["contentId"]))
    global_writer = parse_writer(by_global, client.schema(by_global))
    content_writer = parse_writer(by_content, client.schema(by_content))
    assert global_writer.connect == content_writer.connect


def test_an_id_the_registry_does_not_have_is_a_decode_error(avro_stack: Settings) -> None:
    client = RegistryClient(avro_stack.schema_registry_url)
    with pytest.raises(DecodeError, match="has no schema contentId 987654321"):
        client.schema(SchemaRef(IdKind.CONTENT, 987654321))


def test_a_registry_that_does_not_answer_is_retriable_and_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = RegistryClient(url, timeout=1.0)
    with pytest.raises(RegistryUnavailableError, match=f"schema registry at {url} did not answer"):
        client.schema(SchemaRef(IdKind.CONTENT, 1))
