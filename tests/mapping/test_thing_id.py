"""The documented slug, Ditto's id rules, and collisions."""

from __future__ import annotations

import re

import pytest

from streams.errors import ThingIdError
from streams.mapping import Claim, build_thing_id, claim, slugify, validate_entity_id

TEMPLATE = "{tenant}:{kind}-{key}"


@pytest.mark.parametrize(
    ("key", "slug"),
    [
        ("15/9-F-1 C", "15-9-f-1-c"),
        ("MOR-001", "mor-001"),
        ("Süd-7", "sud-7"),
        ("Åsgard Ø", "asgard-o"),
        ("Æbelø", "aebelo"),
        ("Straße", "strasse"),
        ("Łódź", "lodz"),
        ("100/04-12-047-22W4/00", "100-04-12-047-22w4-00"),
        ("  --Gullfaks  Sør--  ", "gullfaks-sor"),
        ("FIeld ½", "field-1-2"),
    ],
)
def test_slug(key: str, slug: str) -> None:
    assert slugify(key) == slug
    assert slugify(slug) == slug  # a slug is a fixed point


def test_ids_follow_ditto_rules() -> None:
    assert build_thing_id(TEMPLATE, tenant="acme", kind="well", key="15/9-F-1 C") == (
        "acme:well-15-9-f-1-c"
    )
    assert build_thing_id(TEMPLATE, tenant="com.acme-up", kind="well", key="x") == (
        "com.acme-up:well-x"
    )


@pytest.mark.parametrize(
    ("tenant", "key", "words"),
    [
        ("acme", "Привет", "no letter or digit left"),
        ("acme", "", "no letter or digit left"),
        ("9acme", "x", "not a Ditto namespace"),
        ("ac me", "x", "not a Ditto namespace"),
        ("", "x", "not a Ditto namespace"),
        ("acme", "x" * 260, "Ditto allows 256"),
    ],
)
def test_bad_keys_and_tenants(tenant: str, key: str, words: str) -> None:
    with pytest.raises(ThingIdError, match=words):
        build_thing_id(TEMPLATE, tenant=tenant, kind="well", key=key)


@pytest.mark.parametrize(
    ("entity_id", "words"),
    [
        ("acme:a/b", "'/'"),
        ("acme:caf\u00e9", "U+00E9"),
        ("acme:tab\there", "U+0009"),
        ("acme:del\x7f", "U+007F"),
        ("acme", "no ':'"),
        ("acme:", "empty name"),
    ],
)
def test_validation_of_hand_made_ids(entity_id: str, words: str) -> None:
    with pytest.raises(ThingIdError, match=re.escape(words)):
        validate_entity_id(entity_id)


def test_names_may_hold_characters_above_latin1() -> None:
    assert validate_entity_id("acme:well \u0141") == "acme:well \u0141"


def test_collision_is_decided_over_the_claims_table() -> None:
    owners = {"acme:well-15-9-f-1-c": "15/9-F-1 C"}
    assert claim(owners, "acme:well-mor-001", "MOR-001") is Claim.NEW
    assert claim(owners, "acme:well-15-9-f-1-c", "15/9-F-1 C") is Claim.KNOWN
    with pytest.raises(ThingIdError) as caught:
        claim(owners, "acme:well-15-9-f-1-c", "15/9 F-1 C")
    assert "'15/9-F-1 C' and '15/9 F-1 C'" in str(caught.value)
