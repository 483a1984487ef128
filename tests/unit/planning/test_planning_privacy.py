"""Plan content is free text about a person: it must never reach a published event."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given as for_all
from hypothesis import settings
from hypothesis import strategies as st

from services.planning.domain.assignments import decide_assign_module
from services.planning.domain.commands import AssignEducationModule
from services.planning.domain.policies import (
    DischargeFacts,
    RelapseFacts,
    when_participant_discharged,
    when_relapse_reported,
)
from services.planning.domain.recorded import PlanRiskLevelNoted, PlanVersionRecorded, PrivateEventPublished
from shared.catalogue import planning as catalogue
from shared.events import DomainEvent, registered_events

from .planning_builders import PARTICIPANT, SPECIALIST, TRIGGER, at, drafted, revise, seeded, state_of

pytestmark = pytest.mark.unit


def published(events: list[DomainEvent]) -> list[DomainEvent]:
    """What the unit of work sends to the outbox: every event not marked private."""
    return [e for e in events if not e.private]


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=6, max_size=12).map(lambda w: f"secret{w}")


def test_version_records_are_kept_off_the_bus_and_catalogue_events_are_published() -> None:
    events = seeded()
    assert [type(e).__name__ for e in published(events)] == ["PlanCreated"]
    assert PlanVersionRecorded.private and PlanRiskLevelNoted.private
    planning_events = [c for c in registered_events().values() if c.__module__ == catalogue.__name__]
    assert not any(c.private for c in planning_events)


def test_published_planning_events_have_no_free_text_fields() -> None:
    planning_events = [c for c in registered_events().values() if c.__module__ == catalogue.__name__]
    assert {c.__name__ for c in planning_events} >= {
        "PlanCreated",
        "PlanUpdated",
        "PlanReviewRequested",
        "EducationModuleAssigned",
        "EducationModuleCompleted",
    }
    for cls in planning_events:
        hints = typing.get_type_hints(cls)
        text_fields = {name for name in cls.model_fields if hints[name] is str}
        # legacy PlanCreated.status holds a PlanStatus value; module is a catalogue key
        assert text_fields <= {"status", "module"}, (cls.__name__, text_fields)


@settings(max_examples=30, deadline=None)
@for_all(sign=words, name=words, strategy=words, goal=words, phone=st.from_regex(r"\+1 555 [0-9]{7}", fullmatch=True))
def test_no_plan_content_appears_in_any_published_event(
    sign: str, name: str, strategy: str, goal: str, phone: str
) -> None:
    sections = {
        "warning_signs": [{"text": sign, "tags": ["isolation"]}],
        "support_network": [{"name": name, "role": "sponsor", "may_contact": True, "phone": phone}],
        "high_risk_situations": [
            {"category": "social_pressure", "description": strategy, "strategies": [{"text": strategy}]}
        ],
        "goals": [{"description": goal}],
        "daily_routine": [{"at": "08:00", "activity": goal}],
    }
    history: list[DomainEvent] = list(seeded())
    history = revise(history, at(1), sections=sections, status="active")
    assign = AssignEducationModule(participant_id=PARTICIPANT, module="recovery-process", assigned_by=SPECIALIST)
    history += decide_assign_module(state_of(history), assign, at(2))
    history += when_relapse_reported(state_of(history), RelapseFacts(PARTICIPANT, TRIGGER, at(3)), at(3))
    history += when_participant_discharged(state_of(history), DischargeFacts(PARTICIPANT, at(4)), at(4))
    wire = " ".join(e.model_dump_json() for e in published(history))
    for secret in (sign, name, strategy, goal, phone, SPECIALIST):
        assert secret not in wire
    stored = " ".join(e.model_dump_json() for e in history)
    assert sign in stored and name in stored  # the private records do keep the content


def test_drafted_plan_without_content_publishes_counts_only() -> None:
    (created,) = published(drafted())
    assert isinstance(created, catalogue.PlanCreated)
    assert created.outline == catalogue.PlanOutline()


def test_a_private_record_refuses_to_be_serialised_for_kafka() -> None:
    record = next(e for e in seeded() if isinstance(e, PlanVersionRecorded))
    with pytest.raises(PrivateEventPublished):
        record.published()
