"""The fix for Ditto refusals whose cause we know, so a dead letter or a report names it."""

from __future__ import annotations

# Ditto's error codes that mean the tenant's set-up is missing or stale, not the data.
_BOOTSTRAP = {
    "policies:policy.notfound": "the tenant has no policy",
    "things:thing.notmodifiable": "the sync's subject may not write the tenant's twins",
    "things:thing.notcreatable": "the sync's subject may not create the tenant's twins",
}


def known_fix(ditto_error: str | None, thing_id: str) -> str | None:
    """What to run for a refusal of `thing_id`'s command, or None when we cannot tell."""
    cause = _BOOTSTRAP.get(ditto_error or "")
    if cause is None:
        return None
    tenant = thing_id.partition(":")[0]
    return f"{cause}: create or update its policy with `streams ditto bootstrap --tenant {tenant}`"


__all__ = ["known_fix"]
