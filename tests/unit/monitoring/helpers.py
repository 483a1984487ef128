"""Given / when / then over the participant monitor, with an injected clock."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from services.monitoring.domain.checkin import RecordCheckIn
from services.monitoring.domain.monitor_state import MonitorState, participant_monitor
from shared.catalogue.monitoring import CheckInScheduleSet, MonitoringStarted, RiskLevelNoted
from shared.events import DomainEvent

PARTICIPANT = UUID("00000000-0000-0000-0000-00000000a001")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


def started(
    *, at: datetime = T0, recovery_start: date | None = date(2026, 2, 1), risk: str | None = None
) -> list[DomainEvent]:
    """History of a participant whose monitoring started at ``at`` on the default cadence."""
    events: list[DomainEvent] = [
        MonitoringStarted(participant_id=PARTICIPANT, recovery_start_date=recovery_start, started_at=at)
    ]
    if risk is not None:
        events.append(RiskLevelNoted(participant_id=PARTICIPANT, risk_level=risk, source_event="test", noted_at=at))
    return events


def every(interval: timedelta, grace: timedelta = timedelta(0), *, at: datetime = T0) -> CheckInScheduleSet:
    return CheckInScheduleSet(
        participant_id=PARTICIPANT,
        interval=interval,
        grace=grace,
        basis="custom",
        next_due_at=at + interval,
        set_at=at,
    )


def check_in(**fields: Any) -> RecordCheckIn:
    base: dict[str, Any] = {"participant_id": PARTICIPANT, "check_in_id": uuid.uuid4(), "craving": 2, "mood": 4}
    return RecordCheckIn(**{**base, **fields})


def given(*histories: DomainEvent | Sequence[DomainEvent]) -> MonitorState:
    events: list[DomainEvent] = []
    for h in histories:
        events.extend([h] if isinstance(h, DomainEvent) else h)
    return participant_monitor.fold(events)


def names(events: Sequence[DomainEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def of_type(events: Sequence[DomainEvent], cls: type[DomainEvent]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def then_apply(state: MonitorState, events: Sequence[DomainEvent]) -> MonitorState:
    return participant_monitor.fold(events, state)


Decide = Callable[[MonitorState, Any, datetime], list[DomainEvent]]
