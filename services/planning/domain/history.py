"""Reading a plan's past from its stream: the version list and the plan as it was."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.planning.domain.recorded import ChangeKind, PlanVersionRecorded
from shared.catalogue.planning import PlanSection, PlanStatus
from shared.events import DomainEvent


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    change: ChangeKind
    sections_changed: tuple[PlanSection, ...]
    status: PlanStatus
    changed_by: str
    recorded_at: datetime


def versions(events: Iterable[DomainEvent]) -> list[PlanVersionRecorded]:
    """The version records of a plan stream, oldest first."""
    return sorted((e for e in events if isinstance(e, PlanVersionRecorded)), key=lambda r: r.version)


def plan_history(events: Iterable[DomainEvent]) -> list[HistoryEntry]:
    """Who changed what, version by version (without the content)."""
    return [
        HistoryEntry(r.version, r.change, r.sections_changed, r.document.status, r.changed_by, r.recorded_at)
        for r in versions(events)
    ]


def plan_at_version(events: Iterable[DomainEvent], version: int) -> PlanVersionRecorded | None:
    return next((r for r in versions(events) if r.version == version), None)


def plan_as_of(events: Iterable[DomainEvent], at: datetime) -> PlanVersionRecorded | None:
    """The version in force at ``at``: the last one recorded at or before it (None before the first)."""
    in_force = [r for r in versions(events) if r.recorded_at <= at]
    return in_force[-1] if in_force else None
