"""The replay's options from the command line: the start, the consumer group, the tenants,
and the usage errors and warnings they can earn before anything is read."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from streams.config import Settings
from streams.errors import ConfigError, ThingIdError
from streams.kafka.replay_source import Start, StartFrom
from streams.mapping import TableMapping, load_mappings
from streams.mapping.thing_id import validate_namespace
from streams.ops.legacy_tenants import legacy_tenants

Say = Callable[[str], None]

RESUME = Start(StartFrom.COMMITTED)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    start: Start = RESUME  # the group's committed offsets, the earliest where none
    group: str | None = None  # default: group_of()
    dry_run: bool = False
    concurrency: int = 8
    tenants: tuple[str, ...] = ()  # default: every tenant
    from_snapshot: bool = False
    snapshot_timeout: float = 600.0


def group_of(settings: Settings, options: ReplayOptions) -> str:
    """The replay's consumer group: --group, else one of its own per set of tenants, so
    two tenants' runs never commit past each other's records by accident."""
    if options.group is not None:
        if not options.group.strip():
            raise ConfigError(
                "--group needs a consumer group name; leave it out for the default "
                f"{settings.consumer_group}-replay(-<tenants>)"
            )
        return options.group
    tenants = "".join(f"-{t}" for t in sorted(set(options.tenants)))
    return f"{settings.consumer_group}-replay{tenants}"


def check_options(settings: Settings, options: ReplayOptions, say: Say) -> None:
    """Usage errors before anything is read; warnings for runs that will surprise."""
    group = group_of(settings, options)
    _check_tenants(settings, load_mappings(settings.mappings_dir), options.tenants)
    if options.group is not None and options.tenants and not options.dry_run:
        say(
            f"warning: group {group} will be committed past the records of every tenant, not "
            f"only of {', '.join(sorted(options.tenants))}: another tenant's run in this "
            "group would skip its own; leave --group out for a group of these tenants"
        )
    start = options.start
    if start.kind is StartFrom.TIME and start.value > time.time() * 1000:
        say(f"warning: --from-time {iso(start.value)} is in the future: nothing will be read")


def _check_tenants(
    settings: Settings, mappings: Mapping[str, TableMapping], tenants: tuple[str, ...]
) -> None:
    """Each tenant is a Ditto namespace with rows in a mapped table (as `streams validate`
    checks): a mistyped tenant would read everything, write nothing and commit it all."""
    if not tenants:
        return
    known = legacy_tenants(settings, mappings)
    unknown = sorted(set(tenants) - set(known))
    if unknown:
        shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if known[20:] else "")
        raise ConfigError(
            f"--tenant {', '.join(map(repr, unknown))}: no rows in "
            f"{', '.join(sorted(mappings))}; the tenants are: {shown or 'none'}"
        )
    for tenant in tenants:  # a legacy value that can make no thing id
        try:
            validate_namespace(tenant)
        except ThingIdError as exc:
            raise ConfigError(f"--tenant: {exc}") from exc


def iso(epoch_ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_ms / 1000))


def start_of(
    start: str | None, offset: int | None, at_time: str | None, from_snapshot: bool
) -> Start:
    """The start the command line asks for; more than one is a usage error."""
    given = [
        name
        for name, value in (
            ("--from", start),
            ("--from-offset", offset),
            ("--from-time", at_time),
            ("--from-snapshot", from_snapshot or None),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ConfigError(f"give one start, not {' and '.join(given)}")
    if start not in (None, StartFrom.EARLIEST, StartFrom.COMMITTED):
        raise ConfigError(f"--from {start!r}: use earliest or committed")
    if offset is not None:
        return Start(StartFrom.OFFSET, offset)
    if at_time is not None:
        return Start(StartFrom.TIME, _epoch_ms(at_time))
    return Start(StartFrom(start)) if start else RESUME


def _epoch_ms(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"--from-time {text!r} is not ISO-8601: e.g. 2026-12-04T17:00:00Z"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a time without zone is read as UTC
    if moment < EPOCH:  # Kafka reads a negative time as "latest"/"earliest", or refuses it
        raise ConfigError(
            f"--from-time {text!r} is before 1970-01-01: use --from earliest for all history"
        )
    return int(moment.timestamp() * 1000)


__all__ = ["RESUME", "ReplayOptions", "check_options", "group_of", "iso", "start_of"]
