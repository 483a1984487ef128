"""ISO-8601 durations for check-in schedules, down to whole or fractional seconds.

Pydantic's timedelta parser was considered and rejected for API input: it also accepts
non-ISO forms (``"1 day"``, ``"10:00:00"``, bare numbers as seconds), trailing designators
such as ``"P1DT"``, and turns months and years into 30 and 365 days. A schedule is an exact
period, so only weeks, days, hours, minutes and seconds are accepted here, and nothing else.
"""

from __future__ import annotations

import re
from datetime import timedelta

from shared.domain import InvalidCommand

MINIMUM_INTERVAL = timedelta(seconds=1)
MAXIMUM_DURATION = timedelta(days=366)

_NUMBER = r"\d+(?:[.,]\d+)?"
_WEEKS = re.compile(rf"^P(?P<weeks>{_NUMBER})W$")
_DAY_TIME = re.compile(
    rf"^P(?:(?P<days>{_NUMBER})D)?"
    rf"(?:T(?:(?P<hours>{_NUMBER})H)?(?:(?P<minutes>{_NUMBER})M)?(?:(?P<seconds>{_NUMBER})S)?)?$"
)


def parse_duration(text: str, *, field: str = "duration") -> timedelta:
    """Parse ``PnW`` or ``PnDTnHnMnS`` (any part optional, at least one present).

    Raises :class:`InvalidCommand` naming ``field`` for anything else, including calendar
    units (``Y``, month ``M``), signs, empty time parts and values above a year.
    """
    if not isinstance(text, str):
        raise InvalidCommand(f"{field} must be an ISO-8601 duration string", field=field)
    candidate = text.strip().upper()
    match = _WEEKS.match(candidate) or _DAY_TIME.match(candidate)
    if match is None or candidate in {"P", "PT"} or candidate.endswith("T"):
        raise InvalidCommand(
            f"{field} {text!r} is not an ISO-8601 duration such as PT30S, PT4H or P3D "
            "(years and months are not accepted)",
            field=field,
        )
    parts = {k: float(v.replace(",", ".")) for k, v in match.groupdict().items() if v is not None}
    try:
        value = timedelta(**parts)
    except OverflowError:
        raise InvalidCommand(f"{field} {text!r} is too long", field=field) from None
    if value > MAXIMUM_DURATION:
        raise InvalidCommand(f"{field} {text!r} is longer than {MAXIMUM_DURATION.days} days", field=field)
    return value


def parse_interval(text: str, *, field: str = "interval") -> timedelta:
    """A check-in interval: a duration of at least one second."""
    value = parse_duration(text, field=field)
    if value < MINIMUM_INTERVAL:
        raise InvalidCommand(f"{field} {text!r} is shorter than one second", field=field)
    return value


def format_duration(value: timedelta) -> str:
    """The canonical ISO-8601 form used in responses (``P3D``, ``PT4H``, ``PT1.5S``)."""
    if value < timedelta(0):
        raise ValueError("negative durations have no ISO-8601 form here")
    days = value.days
    seconds = value.seconds + value.microseconds / 1_000_000
    hours, rest = divmod(value.seconds, 3600)
    minutes, _ = divmod(rest, 60)
    secs = seconds - hours * 3600 - minutes * 60
    time = ""
    if hours:
        time += f"{hours}H"
    if minutes:
        time += f"{minutes}M"
    if secs:
        time += f"{secs:.6f}".rstrip("0").rstrip(".") + "S"
    out = "P" + (f"{days}D" if days else "")
    if time:
        out += "T" + time
    return out if out != "P" else "PT0S"
