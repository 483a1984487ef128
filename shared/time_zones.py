"""Participants' time zones: checked strictly where they are entered, read leniently from events.

A participant's days (milestone dates, "today") and contact hours are counted in the IANA time
zone intake recorded at enrolment. Intake refuses a name the zone database does not know; a
service reading an event falls back to UTC for a name its own zone database lacks (an older
tzdata), rather than refusing the event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

log = structlog.get_logger(__name__)


def known_zone(name: str) -> str:
    """``name`` if it is a time zone of the zone database; ValueError otherwise (for validators)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as America/New_York)") from None
    return name


@lru_cache(maxsize=512)
def zone_of(name: str | None) -> tzinfo:
    """The zone called ``name``; UTC for None or a name this machine's zone database lacks."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone, counting in UTC", time_zone=name)
        return UTC


def local_date(instant: datetime, zone: str | None) -> date:
    """The calendar date of ``instant`` (timezone-aware) where the participant lives."""
    return instant.astimezone(zone_of(zone)).date()
