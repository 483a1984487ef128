"""Each plan version's private record says what kind of change made it, who, when and which sections.

The HTTP history, ``?version=N`` and ``?as_of=`` read these records straight from the event store
(see tests/integration/planning); here the records themselves are checked.
"""

from __future__ import annotations

import pytest

from services.planning.domain.recorded import PlanVersionRecorded
from shared.catalogue.planning import PlanSection, PlanStatus
from shared.events import DomainEvent

from .planning_builders import SPECIALIST, T0, at, drafted, revise, seeded

pytestmark = pytest.mark.unit

SIGN = {"text": "Cancelling plans with friends", "tags": ["isolation"]}


def records(events: list[DomainEvent]) -> list[PlanVersionRecorded]:
    return [e for e in events if isinstance(e, PlanVersionRecorded)]


def test_every_version_records_who_changed_which_sections_and_when() -> None:
    history = drafted()
    history = revise(history, at(1), sections={"warning_signs": [SIGN]})
    history = revise(history, at(2), status="active")
    entries = records(history)
    assert [(e.version, e.change, e.sections_changed, e.document.status, e.changed_by) for e in entries] == [
        (1, "drafted", (), PlanStatus.DRAFT, SPECIALIST),
        (2, "revised", (PlanSection.WARNING_SIGNS,), PlanStatus.DRAFT, SPECIALIST),
        (3, "status-changed", (), PlanStatus.ACTIVE, SPECIALIST),
    ]
    assert [e.recorded_at for e in entries] == [T0, at(1), at(2)]
    assert entries[0].document.content.warning_signs == ()
    assert [s.text for s in entries[1].document.content.warning_signs] == [SIGN["text"]]


def test_a_plan_drafted_from_an_assessment_is_recorded_as_such_by_the_system() -> None:
    (entry,) = records(seeded())
    assert (entry.change, entry.changed_by) == ("drafted-from-assessment", "system:planning")
    assert PlanSection.HIGH_RISK_SITUATIONS in entry.sections_changed
