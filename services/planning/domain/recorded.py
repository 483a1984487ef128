"""Planning's private events: stored in planning's event store, never published.

Each plan version is recorded as a ``PlanVersionRecorded`` holding the full ``PlanDocument``
(content included) next to the public, structure-only events of the same decision. Planning's
unit of work sends only non-private events (``private = True`` here) to the outbox; a catalogue event
has no field that could hold content, and a private event refuses to be serialised for Kafka
(``published()`` raises), so content cannot reach the bus even by a wiring mistake. Keeping the
full document per version makes ``?version=N`` and ``?as_of=`` a single lookup, not a replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from services.planning.domain.sections import ModuleAssignment, PlanContent
from shared.catalogue.planning import PlanSection, PlanStatus, RiskLevelName
from shared.events import DomainEvent, event

ChangeKind = Literal[
    "drafted",
    "drafted-from-assessment",
    "revised",
    "review-completed",
    "status-changed",
    "completed-on-discharge",
    "module-assigned",
    "module-completed",
]


class PlanDocument(BaseModel):
    """Everything a plan version says: its status, its sections and its education modules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: PlanStatus
    content: PlanContent = PlanContent()
    education: tuple[ModuleAssignment, ...] = ()
    source_assessment_id: UUID | None = None


class PrivateEventPublished(RuntimeError):
    """A private planning event reached the outbox: a programming error, so fail loudly."""


class _PrivateEvent(DomainEvent):
    private: ClassVar[bool] = True

    def published(self) -> dict[str, Any]:
        # Fail closed: the transaction that tried to enqueue this rolls back, nothing leaks.
        raise PrivateEventPublished(f"{type(self).__name__} is private to planning and is never published")


@event("planning")
class PlanVersionRecorded(_PrivateEvent):
    """Private: the full document of plan version ``version``, who made it and why. Its content is
    sealed under the participant's data key in the event store (an erased participant's versions
    read with empty content)."""

    sealed: ClassVar[tuple[str, ...]] = ("document.content",)

    participant_id: UUID
    plan_id: UUID
    version: int
    change: ChangeKind
    sections_changed: tuple[PlanSection, ...]
    changed_by: str
    recorded_at: datetime
    document: PlanDocument


@event("planning")
class PlanRiskLevelNoted(_PrivateEvent):
    """Private: the latest risk level planning knows of, the baseline for 'the risk has risen'."""

    participant_id: UUID
    plan_id: UUID
    risk_level: RiskLevelName
    source_id: UUID
    noted_at: datetime
