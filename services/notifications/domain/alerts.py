"""The alert aggregate: raised for staff, acknowledged by an addressee, escalated when unanswered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.notifications.domain.directory import Recipients
from services.notifications.domain.escalation import acknowledge_deadline, escalation_target
from services.notifications.domain.intents import DEFAULT_CHANNELS, NotificationIntent
from services.notifications.domain.vocabulary import Role, Rule, Urgency
from shared.catalogue.notifications import AlertAcknowledged, AlertEscalated, AlertRaised
from shared.domain import Aggregate, DomainError, NotFound
from shared.events import DomainEvent

_ALERT_NAMESPACE = uuid.UUID("6f0b6a52-5b8e-4d61-9a0e-3f0d1c7d2a10")


class NotYourAlert(DomainError):
    """Only someone the alert was addressed to may acknowledge it."""

    status = 403
    code = "not-your-alert"


class AcknowledgeAlert(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_id: UUID
    acknowledged_by: str = Field(min_length=1, max_length=200)


@dataclass(frozen=True)
class Alert:
    alert_id: UUID | None = None
    participant_id: UUID | None = None
    rule: str = ""
    urgency: Urgency = Urgency.ROUTINE
    cause_event_id: UUID | None = None
    recipient_id: str = ""
    recipient_role: Role = Role.SPECIALIST
    addressed_to: tuple[str, ...] = ()
    acknowledge_by: datetime | None = None
    acknowledged_by: str | None = None

    @property
    def raised(self) -> bool:
        return self.alert_id is not None

    @property
    def open(self) -> bool:
        return self.raised and self.acknowledged_by is None


def alert_id_for(intent: NotificationIntent) -> UUID:
    """Deterministic, so a redelivered cause lands on the same alert stream."""
    cause, rule, recipient = intent.dedup_key
    return uuid.uuid5(_ALERT_NAMESPACE, f"{cause}|{rule}|{recipient}")


def evolve(state: Alert, event: DomainEvent) -> Alert:
    if isinstance(event, AlertRaised):
        return Alert(
            alert_id=event.alert_id,
            participant_id=event.participant_id,
            rule=event.rule,
            urgency=Urgency(event.urgency),
            cause_event_id=event.cause_event_id,
            recipient_id=event.recipient_id,
            recipient_role=Role(event.recipient_role),
            addressed_to=(event.recipient_id,),
            acknowledge_by=event.acknowledge_by,
        )
    if isinstance(event, AlertEscalated):
        return replace(
            state,
            recipient_id=event.to_recipient_id,
            recipient_role=Role(event.to_role),
            addressed_to=(*state.addressed_to, event.to_recipient_id),
            acknowledge_by=event.acknowledge_by,
        )
    if isinstance(event, AlertAcknowledged):
        return replace(state, acknowledged_by=event.acknowledged_by)
    return state


alert = Aggregate[Alert](stream_type="alert", initial=Alert, evolve=evolve)


def decide_raise(state: Alert, intent: NotificationIntent, now: datetime, ack_timeout: timedelta) -> list[DomainEvent]:
    """Raise the alert for a staff intent; raising it again (redelivery) changes nothing."""
    if state.raised:
        return []
    return [
        AlertRaised(
            alert_id=alert_id_for(intent),
            participant_id=intent.participant_id,
            recipient_id=intent.recipient_id,
            recipient_role=intent.recipient_role.value,
            rule=intent.rule.value,
            urgency=intent.urgency.value,
            cause_event_id=intent.cause_event_id,
            raised_at=now,
            acknowledge_by=acknowledge_deadline(now, intent.urgency, ack_timeout),
        )
    ]


def decide_acknowledge(state: Alert, command: AcknowledgeAlert, now: datetime) -> list[DomainEvent]:
    if not state.raised or state.participant_id is None:
        raise NotFound("no such alert", field="alert_id")
    if command.acknowledged_by not in state.addressed_to:
        raise NotYourAlert("this alert was addressed to somebody else", field="alert_id")
    if state.acknowledged_by is not None:
        return []
    return [
        AlertAcknowledged(
            alert_id=command.alert_id,
            participant_id=state.participant_id,
            acknowledged_by=command.acknowledged_by,
            acknowledged_at=now,
        )
    ]


def decide_escalate(state: Alert, recipients: Recipients, now: datetime, ack_timeout: timedelta) -> list[DomainEvent]:
    """An open urgent alert past its deadline moves one level up (if anybody is up there)."""
    if not state.open or state.acknowledge_by is None or now < state.acknowledge_by:
        return []
    assert state.alert_id is not None and state.participant_id is not None
    target = escalation_target(state.recipient_role, state.recipient_id, recipients)
    if target is None:
        return []
    role, holder = target
    return [
        AlertEscalated(
            alert_id=state.alert_id,
            participant_id=state.participant_id,
            from_recipient_id=state.recipient_id,
            from_role=state.recipient_role.value,
            to_recipient_id=holder,
            to_role=role.value,
            escalated_at=now,
            acknowledge_by=acknowledge_deadline(now, Urgency.URGENT, ack_timeout),
        )
    ]


def escalation_intent(state: Alert, escalated: AlertEscalated) -> NotificationIntent:
    """The notice the new addressee receives; its own rule keeps it apart from their first alert."""
    assert state.cause_event_id is not None
    role = Role(escalated.to_role)
    return NotificationIntent(
        rule=Rule.ALERT_ESCALATED,
        recipient_role=role,
        recipient_id=escalated.to_recipient_id,
        channels=DEFAULT_CHANNELS[role],
        urgency=Urgency.URGENT,
        cause_event_id=state.cause_event_id,
        participant_id=escalated.participant_id,
    )
