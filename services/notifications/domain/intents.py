"""What the rules produce: an incoming event as notifications sees it, and the intent to notify
someone about it, with the dedup key that makes every delivery happen once per cause."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from services.notifications.domain.vocabulary import STAFF_ROLES, Channel, Role, Rule, Urgency

DedupKey = tuple[UUID, str, str]

DEFAULT_CHANNELS: Mapping[Role, tuple[Channel, ...]] = {
    Role.PARTICIPANT: (Channel.EMAIL,),
    Role.SPECIALIST: (Channel.IN_APP, Channel.EMAIL),
    Role.SUPERVISOR: (Channel.IN_APP, Channel.EMAIL),
    Role.AGENCY_ADMIN: (Channel.IN_APP, Channel.EMAIL),
    Role.SUPPORT_CONTACT: (Channel.EMAIL,),
    Role.PARTNER_AGENCY: (Channel.WEBHOOK,),
    Role.INTEGRATION: (Channel.WEBHOOK,),
}


@dataclass(frozen=True)
class IncomingEvent:
    """An event of any service as notifications sees it: envelope facts plus the raw payload."""

    event_id: UUID
    event_type: str
    participant_id: UUID
    occurred_at: datetime
    agency_id: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationIntent:
    """Someone must hear about a cause. Staff intents become acknowledgeable alerts."""

    rule: Rule
    recipient_role: Role
    recipient_id: str
    channels: tuple[Channel, ...]
    urgency: Urgency
    cause_event_id: UUID
    participant_id: UUID

    @property
    def dedup_key(self) -> DedupKey:
        return (self.cause_event_id, self.rule.value, self.recipient_id)

    @property
    def is_alert(self) -> bool:
        return self.recipient_role in STAFF_ROLES


def deduplicate(
    intents: Iterable[NotificationIntent], already: Iterable[DedupKey] = ()
) -> Iterable[NotificationIntent]:
    """Drop intents whose (cause, rule, recipient) was seen before or earlier in ``intents``."""
    seen = set(already)
    for intent in intents:
        if intent.dedup_key not in seen:
            seen.add(intent.dedup_key)
            yield intent
