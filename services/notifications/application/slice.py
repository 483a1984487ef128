"""First end-to-end slice of notifications: tell the assigned specialist that a draft plan exists.

The full rule engine (ladder, urgent alerts, channels, quiet hours, escalation) replaces this module.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.catalogue.intake import ParticipantEnrolled, SpecialistAssigned
from shared.catalogue.notifications import NotificationSent
from shared.catalogue.planning import PlanCreated
from shared.cloudevents import ReceivedEvent
from shared.uow import UnitOfWork

RULE_PLAN_CREATED = "plan-created-tell-specialist"


async def on_event(received: ReceivedEvent, uow: UnitOfWork) -> None:
    """Consumer handler for intake's and planning's topics."""
    event = received.event
    if isinstance(event, ParticipantEnrolled | SpecialistAssigned):
        await uow.conn.execute(
            "INSERT INTO care_team (participant_id, agency_id, specialist_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (participant_id) DO UPDATE SET specialist_id = EXCLUDED.specialist_id",
            event.participant_id, received.agency_id, event.specialist_id,
        )
    elif isinstance(event, PlanCreated):
        specialist = await uow.conn.fetchval(
            "SELECT specialist_id FROM care_team WHERE participant_id = $1", event.participant_id
        )
        if specialist is None:
            return
        notification_id = uuid.uuid4()
        now = datetime.now(UTC)
        inserted = await uow.conn.fetchval(
            "INSERT INTO notifications (notification_id, agency_id, participant_id, recipient_id, recipient_role,"
            " channel, rule, subject, body, cause_event_id, created_at)"
            " VALUES ($1, $2, $3, $4, 'specialist', 'in_app', $5, $6, $7, $8, $9)"
            " ON CONFLICT (cause_event_id, rule, recipient_id) DO NOTHING RETURNING 1",
            notification_id, received.agency_id, event.participant_id, specialist, RULE_PLAN_CREATED,
            "A draft relapse-prevention plan is ready for review",
            f"Open the plan of participant {event.participant_id} in Waypoint.",
            received.event_id, now,
        )
        if inserted:
            await uow.append(
                f"notification-{notification_id}", "notification",
                [NotificationSent(participant_id=event.participant_id, notification_id=notification_id,
                                  recipient_id=specialist, recipient_role="specialist", channel="in_app",
                                  rule=RULE_PLAN_CREATED, cause_event_id=received.event_id, sent_at=now)],
                expected_version=0, agency_id=received.agency_id, participant_id=event.participant_id,
            )
