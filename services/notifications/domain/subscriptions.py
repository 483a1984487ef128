"""Webhook subscriptions: an agency's partner system hears chosen event types without Kafka."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

import shared.catalogue  # noqa: F401  (registers every event type, so the filter can be checked)
from services.notifications.domain.intents import DEFAULT_CHANNELS, IncomingEvent, NotificationIntent
from services.notifications.domain.vocabulary import Role, Rule, Urgency
from shared.events import registered_events


def subscribable_event_types() -> frozenset[str]:
    """Every catalogue event except notifications' own: a delivery about a delivery would loop."""
    return frozenset(name for name, cls in registered_events().items() if cls.service != "notifications")


class CreateWebhookSubscription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(max_length=2000)
    event_types: tuple[str, ...] = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=200)
    include_details: bool = Field(
        default=False, description="also send the coded allowlisted fields (never free text) to this agency's system"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the webhook URL must be an absolute http(s) URL")
        if parts.username or parts.password:
            raise ValueError("the webhook URL must not carry credentials")
        return value

    @field_validator("event_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - subscribable_event_types())
        if unknown:
            raise ValueError(f"unknown or unsubscribable event types: {', '.join(unknown)}")
        return tuple(dict.fromkeys(value))


class DeactivateWebhookSubscription(BaseModel):
    """Stop sending to a subscription of the caller's agency (kept for the record)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subscription_id: UUID


@dataclass(frozen=True)
class WebhookSubscription:
    subscription_id: UUID
    agency_id: str
    url: str
    event_types: frozenset[str]
    active: bool = True

    def matches(self, event: IncomingEvent) -> bool:
        """Same agency only: a subscription never sees another agency's events."""
        return self.active and event.agency_id == self.agency_id and event.event_type in self.event_types


def subscription_intents(
    event: IncomingEvent, subscriptions: Iterable[WebhookSubscription]
) -> list[NotificationIntent]:
    return [
        NotificationIntent(
            rule=Rule.SUBSCRIPTION,
            recipient_role=Role.INTEGRATION,
            recipient_id=str(sub.subscription_id),
            channels=DEFAULT_CHANNELS[Role.INTEGRATION],
            urgency=Urgency.ROUTINE,
            cause_event_id=event.event_id,
            participant_id=event.participant_id,
        )
        for sub in subscriptions
        if sub.matches(event)
    ]
