"""What monitoring does when intake decides something about a participant.

Enrolment starts monitoring on the default cadence, an assessment or a risk change is noted (and
moves a default cadence), a change of time zone is noted (and moves the next milestone to the
start of its date in the new zone), discharge ends monitoring. The aggregate ignores repeats, and the inbox
already drops redeliveries, so these reactions are safe to replay.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from services.monitoring.application import handlers
from services.monitoring.domain.commands import EndMonitoring, NoteRiskLevel, NoteTimeZone, StartMonitoring
from services.monitoring.domain.risk_levels import ORDER
from shared.catalogue.intake import (
    AssessmentCompleted,
    ParticipantDischarged,
    ParticipantEnrolled,
    ParticipantTimeZoneChanged,
    RiskLevelChanged,
)
from shared.cloudevents import ReceivedEvent
from shared.domain import NotFound
from shared.uow import UnitOfWork

Clock = Callable[[], datetime]


#: what the handler acts on (the consumer skips every other type before touching the database)
HANDLED = frozenset(
    {
        "ParticipantEnrolled",
        "AssessmentCompleted",
        "RiskLevelChanged",
        "ParticipantTimeZoneChanged",
        "ParticipantDischarged",
    }
)


def make_handler(clock: Clock) -> Callable[[ReceivedEvent, UnitOfWork], Awaitable[None]]:
    async def on_intake_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
        event, agency, now = received.event, received.agency_id, clock()
        if isinstance(event, ParticipantEnrolled):
            cmd = StartMonitoring(
                participant_id=event.participant_id,
                specialist_id=event.specialist_id,
                recovery_start_date=event.recovery_start_date,
                time_zone=event.time_zone,
            )
            await handlers.start_monitoring(uow, cmd, agency, now)
            return
        if isinstance(event, AssessmentCompleted | RiskLevelChanged):
            level = str(event.risk_level)
            if level not in ORDER:
                return
            note = NoteRiskLevel(
                participant_id=event.participant_id, risk_level=level, source_event=received.event_type
            )
            try:
                await handlers.note_risk_level(uow, note, agency, now)
            except NotFound:
                return  # assessed before monitoring knew the person: the enrolment will follow
            return
        if isinstance(event, ParticipantTimeZoneChanged):
            note_zone = NoteTimeZone(participant_id=event.participant_id, time_zone=event.time_zone)
            try:
                await handlers.note_time_zone(uow, note_zone, agency, now)
            except NotFound:
                return  # changed before monitoring knew the person: the enrolment carries the zone
            return
        if isinstance(event, ParticipantDischarged):
            try:
                await handlers.end_monitoring(uow, EndMonitoring(participant_id=event.participant_id), agency, now)
            except NotFound:
                return

    return on_intake_event
