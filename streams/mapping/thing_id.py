"""Thing ids: the documented slug of a business key, Ditto's id rules, and collisions.

The slug (stable, documented, never changed without a migration):

1. lowercase the key;
2. transliterate letters that have no decomposition: ß->ss, æ->ae, ø->o, œ->oe,
   đ/ð->d, þ->th, ł->l, dotless i->i, ħ->h, ŧ->t, ŋ->ng;
3. decompose (NFKD) and drop the combining marks, so å->a, é->e, ü->u, ﬁ->fi;
4. replace every run of characters outside [a-z0-9] by one "-";
5. trim "-" at both ends.

`15/9-F-1 C` -> `15-9-f-1-c`; `Süd-7` -> `sud-7`; `Åsgard Ø` -> `asgard-o`. A key with
nothing left (say, only Cyrillic letters) is a ThingIdError, as is a tenant that is not a
Ditto namespace or an id over 256 characters. Two keys with one slug are a collision:
`claim` decides it over the agent's "thing id -> key" table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache

from streams.errors import ThingIdError

MAX_ID_LENGTH = 256
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "ø": "o",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ł": "l",
        "\u0131": "i",
        "ħ": "h",
        "ŧ": "t",
        "ŋ": "ng",
    }
)
_OUTSIDE = re.compile(r"[^a-z0-9]+")
# Ditto's namespace: dot- or dash-separated segments, each a letter then word chars.
_NAMESPACE = re.compile(r"[a-zA-Z]\w*(?:[.-][a-zA-Z]\w*)*", re.ASCII)
# Ditto forbids "/" in names and control and Latin-1 supplement characters anywhere.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\xff]")


def slugify(key: str) -> str:
    """The documented slug of a business key (may be empty: callers check)."""
    text = key.lower().translate(_TRANSLITERATE)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _OUTSIDE.sub("-", text).strip("-")


def validate_namespace(namespace: str, *, what: str = "tenant") -> str:
    if not _NAMESPACE.fullmatch(namespace):
        raise ThingIdError(
            f"{what} {namespace!r} is not a Ditto namespace: use letters, digits and '_' in "
            "segments that start with a letter, joined by '.' or '-'"
        )
    return namespace


@lru_cache(maxsize=1 << 12)
def validate_entity_id(
    entity_id: str, *, what: str = "thing id", fix: str = "shorten the key or the id template"
) -> str:
    """Check a full `namespace:name` id (thing or policy) against Ditto's rules; `fix` is
    what the length error tells the user to change."""
    namespace, sep, name = entity_id.partition(":")
    if not sep:
        raise ThingIdError(f"{what} {entity_id!r} has no ':' between namespace and name")
    validate_namespace(namespace, what=f"namespace of {what} {entity_id!r}")
    if not name:
        raise ThingIdError(f"{what} {entity_id!r} has an empty name")
    if "/" in name:
        raise ThingIdError(f"{what} {entity_id!r} contains '/', which Ditto forbids")
    bad = _FORBIDDEN.search(entity_id)
    if bad:
        raise ThingIdError(
            f"{what} {entity_id!r} contains U+{ord(bad.group()):04X}: Ditto forbids control "
            "characters and U+007F-U+00FF"
        )
    if len(entity_id) > MAX_ID_LENGTH:
        raise ThingIdError(
            f"{what} {entity_id[:40]!r}... is {len(entity_id)} characters; Ditto allows "
            f"{MAX_ID_LENGTH}: {fix}"
        )
    return entity_id


@lru_cache(maxsize=1 << 16)
def build_thing_id(template: str, *, tenant: str, kind: str, key: str) -> str:
    """Fill an id template (`{tenant}:{kind}-{key}`) with the key's slug and validate it.

    Pure over its strings, so cached: a hot key costs a lookup, not a slug and a check.
    """
    validate_namespace(tenant)
    slug = slugify(key)
    if not slug:
        raise ThingIdError(
            f"key {key!r} has no letter or digit left after the slug rules (a-z, 0-9); "
            "give the row a key with Latin letters or digits"
        )
    return validate_entity_id(template.format(tenant=tenant, kind=kind, key=slug))


class Claim(StrEnum):
    """The answer of `claim`: the agent stores NEW claims in its table."""

    NEW = "new"
    KNOWN = "known"


def claim(owners: Mapping[str, str], thing_id: str, key: str) -> Claim:
    """Decide whether `key` may use `thing_id`, given the table of earlier claims.

    `owners` maps a thing id to the business key that first produced it. A different
    key producing the same id would merge two rows into one twin: that is a
    ThingIdError (a dead letter), never a silent merge.
    """
    owner = owners.get(thing_id)
    if owner is None:
        return Claim.NEW
    if owner == key:
        return Claim.KNOWN
    raise ThingIdError(
        f"thing id {thing_id!r} collides: keys {owner!r} and {key!r} have the same slug; "
        "rename one of the keys, or change the mapping's thing_id template"
    )


__all__ = [
    "MAX_ID_LENGTH",
    "Claim",
    "build_thing_id",
    "claim",
    "slugify",
    "validate_entity_id",
    "validate_namespace",
]
