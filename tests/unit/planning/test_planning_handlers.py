"""Planning's command and event handlers on the in-memory unit of work (no database, no Kafka):
what each writes to the plan stream, the outbox and the current-plan read model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest

from services.planning.adapters.tables import InMemoryTables
from services.planning.application import consumers, handlers
from services.planning.domain.assignments import ModuleNotAssigned
from services.planning.domain.commands import AssignEducationModule, CompleteEducationModule, DraftPlan, RevisePlan
from services.planning.domain.lifecycle import PlanAlreadyExists, PlanNotFound, PlanVersionConflict
from services.planning.domain.recorded import PlanRiskLevelNoted, PlanVersionRecorded
from services.planning.domain.sections import SectionsPatch
from shared.catalogue.intake import ParticipantDischarged, ParticipantEnrolled, RiskLevelChanged
from shared.catalogue.monitoring import RelapseReported
from shared.catalogue.planning import (
    EducationModuleAssigned,
    EducationModuleCompleted,
    PlanCreated,
    PlanReviewRequested,
    PlanStatus,
    PlanUpdated,
)
from shared.clock import ManualClock
from shared.cloudevents import ReceivedEvent, as_received
from shared.envelope import Metadata, NewEvent
from shared.events import DomainEvent
from shared.eventstore.memory import InMemoryEventStore
from shared.memory import InMemoryUnitsOfWork
from shared.uow import UnitOfWork

from .planning_builders import PARTICIPANT, SPECIALIST, T0

pytestmark = pytest.mark.unit

AGENCY = "agency-a"
SIGN = {"text": "Skipping meals and staying up late", "tags": ["sleep-disruption"]}
MODULE = "coping-with-cravings"


class Planning:
    """Planning's write side in memory: handlers run as the API runs them, one unit of work each."""

    def __init__(self) -> None:
        self.tables = InMemoryTables()
        self.clock = ManualClock(T0)
        self.units = InMemoryUnitsOfWork("planning", clock=self.clock, tables=self.tables)

    async def run(self, handle: Callable[[Any, UnitOfWork], Awaitable[None]], command: Any,
                  agency: str = AGENCY) -> None:
        async with self.units.open(agency_id=agency, actor=SPECIALIST) as uow:
            await handle(command, uow)

    async def receive(self, handle: Callable[[ReceivedEvent, UnitOfWork], Awaitable[None]], event: DomainEvent,
                      agency: str = AGENCY) -> None:
        new = NewEvent(f"x-{PARTICIPANT}", "x", agency, event, Metadata(correlation_id="c"), participant_id=PARTICIPANT)
        [stored] = await InMemoryEventStore().append([new], expected_version=0)
        received = as_received(stored, type(event).service)
        async with self.units.open() as uow:
            await handle(received, uow)

    async def enrol(self, agency: str = AGENCY) -> None:
        await self.receive(consumers.on_intake_event, ParticipantEnrolled(participant_id=PARTICIPANT, enrolled_at=T0),
                           agency)

    async def stream(self) -> list[DomainEvent]:
        return await self.units.stream(f"plan-{PARTICIPANT}")

    def published(self) -> list[type[DomainEvent]]:
        return [type(e) for e in self.units.published()]


def draft(**sections: Any) -> DraftPlan:
    return DraftPlan(participant_id=PARTICIPANT, sections=SectionsPatch.model_validate(sections),
                     drafted_by=SPECIALIST)


def revise(version: int, **changes: Any) -> RevisePlan:
    return RevisePlan.model_validate(
        {"participant_id": PARTICIPANT, "expected_version": version, "changed_by": SPECIALIST, **changes}
    )


@pytest.fixture
async def planning() -> Planning:
    p = Planning()
    await p.enrol()
    return p


async def test_draft_plan_starts_version_one_and_keeps_its_content_off_the_bus(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft(warning_signs=[SIGN]))
    assert [type(e) for e in await planning.stream()] == [PlanCreated, PlanVersionRecorded]
    assert planning.published() == [PlanCreated]  # the version record is private
    agency, state = planning.tables.plans[PARTICIPANT]
    assert (agency, state.version, state.document and state.document.status) == (AGENCY, 1, PlanStatus.DRAFT)


async def test_draft_plan_needs_a_participant_enrolled_in_the_callers_agency() -> None:
    planning = Planning()
    await planning.enrol(agency="agency-b")
    with pytest.raises(handlers.ParticipantNotFound):
        await planning.run(handlers.draft_plan, draft())
    assert await planning.stream() == []


async def test_draft_plan_refuses_a_discharged_participant(planning: Planning) -> None:
    await planning.receive(consumers.on_intake_event, ParticipantDischarged(
        participant_id=PARTICIPANT, reason="plan_completed", discharged_at=T0))
    with pytest.raises(handlers.ParticipantNotFound):
        await planning.run(handlers.draft_plan, draft())


async def test_a_second_draft_is_a_conflict_and_writes_nothing(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    with pytest.raises(PlanAlreadyExists):
        await planning.run(handlers.draft_plan, draft())
    assert len(await planning.stream()) == 2


async def test_revise_plan_records_the_next_version_at_the_clocks_time(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    planning.clock.advance(hours=1)
    await planning.run(handlers.revise_plan, revise(1, sections={"warning_signs": [SIGN]}))
    _, _, updated, record = await planning.stream()
    assert (type(updated), type(record)) == (PlanUpdated, PlanVersionRecorded)
    assert isinstance(updated, PlanUpdated) and updated.version == 2
    assert planning.tables.plans[PARTICIPANT][1].version == 2
    [stored] = (await planning.units.store.read_stream(f"plan-{PARTICIPANT}"))[2:3]
    assert stored.occurred_at == planning.clock()


async def test_revise_plan_on_a_stale_version_is_refused_with_the_current_one(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    await planning.run(handlers.revise_plan, revise(1, sections={"warning_signs": [SIGN]}))
    with pytest.raises(PlanVersionConflict) as refused:
        await planning.run(handlers.revise_plan, revise(1, status="active"))
    assert (refused.value.expected, refused.value.current) == (1, 2)


async def test_a_plan_of_another_agency_looks_like_no_plan(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    with pytest.raises(PlanNotFound):
        await planning.run(handlers.revise_plan, revise(1, status="active"), agency="agency-b")


async def test_assign_module_then_complete_it(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    assign = AssignEducationModule(participant_id=PARTICIPANT, module=MODULE, assigned_by=SPECIALIST)
    await planning.run(handlers.assign_module, assign)
    complete = CompleteEducationModule(participant_id=PARTICIPANT, module=MODULE, completed_by=str(PARTICIPANT))
    await planning.run(handlers.complete_module, complete)
    assert planning.published()[-2:] == [EducationModuleAssigned, EducationModuleCompleted]


async def test_completing_a_module_never_assigned_is_a_conflict(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    complete = CompleteEducationModule(participant_id=PARTICIPANT, module=MODULE, completed_by=SPECIALIST)
    with pytest.raises(ModuleNotAssigned):
        await planning.run(handlers.complete_module, complete)


async def test_a_risk_change_is_noted_privately_on_an_existing_plan(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    await planning.receive(consumers.on_intake_event, RiskLevelChanged(
        participant_id=PARTICIPANT, assessment_id=uuid4(), previous_level=None, risk_level="high", reasons=(),
        changed_at=T0))
    assert PlanRiskLevelNoted in [type(e) for e in await planning.stream()]
    assert planning.tables.plans[PARTICIPANT][1].risk_level == "high"


async def test_a_reported_relapse_asks_for_a_plan_review(planning: Planning) -> None:
    await planning.run(handlers.draft_plan, draft())
    relapse = RelapseReported(participant_id=PARTICIPANT, relapse_id=uuid4(), relapsed_on=T0.date(),
                              reported_by="specialist", reported_at=T0)
    await planning.receive(consumers.on_monitoring_event, relapse)
    assert planning.published()[-1] is PlanReviewRequested
