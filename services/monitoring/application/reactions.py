"""What monitoring does when intake decides something about a participant.

Enrolment starts monitoring on the default cadence, an assessment or a risk change is noted (and
moves a default cadence), a change of time zone is noted (and moves the next milestone to the
start of its date in the new zone), discharge ends monitoring. The aggregate ignores repeats, and the inbox
already drops redeliveries, so these reactions are safe to replay.

The unit of work acts for the event's agency, at the service clock's time (see
``Runtime.with_tables``).
"""

from __future__ import annotations

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


async def on_intake_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    event = received.event
    if isinstance(event, ParticipantEnrolled):
        cmd = StartMonitoring(
            participant_id=event.participant_id,
            specialist_id=event.specialist_id,
            recovery_start_date=event.recovery_start_date,
            time_zone=event.time_zone,
        )
        await handlers.start_monitoring(cmd, uow)
        return
    try:
        if isinstance(event, AssessmentCompleted | RiskLevelChanged):
            level = str(event.risk_level)
            if level in ORDER:
                note = NoteRiskLevel(
                    participant_id=event.participant_id, risk_level=level, source_event=received.event_type
                )
                await handlers.note_risk_level(note, uow)
        elif isinstance(event, ParticipantTimeZoneChanged):
            note_zone = NoteTimeZone(participant_id=event.participant_id, time_zone=event.time_zone)
            await handlers.note_time_zone(note_zone, uow)
        elif isinstance(event, ParticipantDischarged):
            await handlers.end_monitoring(EndMonitoring(participant_id=event.participant_id), uow)
    except NotFound:
        # Before monitoring knew the person: the enrolment follows (and carries the zone), or
        # there is nothing left to end.
        return
