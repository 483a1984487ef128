"""Quiet hours: a daily local-time window in which routine messages wait; urgent ones never do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from services.notifications.domain.vocabulary import Urgency
from shared.domain import InvalidCommand
from shared.time_zones import zone_of

_WINDOW = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]):([0-5]\d)\s*$")


@dataclass(frozen=True)
class QuietHours:
    """``start``..``end`` in local time of ``zone``; a window may wrap past midnight."""

    start: time
    end: time
    zone: tzinfo

    @classmethod
    def parse(cls, window: str, time_zone: str = "UTC") -> QuietHours:
        """Read ``"22:00-07:00"`` in an IANA time zone; raise InvalidCommand if it does not parse."""
        match = _WINDOW.match(window or "")
        if match is None:
            raise InvalidCommand(f"quiet hours {window!r} are not HH:MM-HH:MM", field="quiet_hours")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if (h1, m1) == (h2, m2):
            raise InvalidCommand("quiet hours must not start and end at the same time", field="quiet_hours")
        try:
            zone = ZoneInfo(time_zone)
        except Exception:  # ZoneInfoNotFoundError, ValueError for malformed keys
            raise InvalidCommand(f"unknown time zone {time_zone!r}", field="time_zone") from None
        return cls(time(h1, m1), time(h2, m2), zone)

    @classmethod
    def outside(cls, start: time, end: time, time_zone: str | None) -> QuietHours | None:
        """The quiet hours of someone reachable only from ``start`` to ``end`` (local time of
        ``time_zone``; None or a zone this machine does not know: UTC): everything else.

        The reachable window keeps its start and loses its end, so the quiet window starts at its
        end and ends at its start. Equal start and end say nothing usable: None (no quiet hours).
        """
        if start == end:
            return None
        return cls(end, start, zone_of(time_zone))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def wraps_midnight(self) -> bool:
        return self.start > self.end

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` (timezone-aware) falls inside the quiet window."""
        local = instant.astimezone(self.zone).time()
        if self.wraps_midnight:
            return local >= self.start or local < self.end
        return self.start <= local < self.end

    def next_allowed(self, instant: datetime) -> datetime:
        """``instant`` itself outside the window, else the moment the window ends."""
        if not self.contains(instant):
            return instant
        local = instant.astimezone(self.zone)
        end_day: date = local.date()
        if self.wraps_midnight and local.time() >= self.start:
            end_day += timedelta(days=1)
        end = datetime.combine(end_day, self.end, tzinfo=self.zone)
        # A window ending inside a daylight-saving gap resolves to the first real instant after it.
        return max(end, instant).astimezone(instant.tzinfo)


def send_time(urgency: Urgency, quiet: QuietHours | None, instant: datetime) -> datetime:
    """When a message decided at ``instant`` may go out: urgent ones and no quiet hours -> now."""
    if urgency is Urgency.URGENT or quiet is None:
        return instant
    return quiet.next_allowed(instant)
