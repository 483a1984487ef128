"""Notifications' own tables as its command handlers see them: the alert rows, contact
preferences, webhook subscriptions, agency staff and the participant directory.

:class:`PostgresTables` is what a unit of work carries in the service (``uow.tables``);
:class:`InMemoryTables` is its fake for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from services.notifications.adapters import repository
from services.notifications.domain.alerts import Alert
from services.notifications.domain.directory import AgencyStaff, ParticipantRecord
from services.notifications.domain.subscriptions import CreateWebhookSubscription
from shared.keyring import KeyRing


@dataclass(frozen=True)
class AlertRow:
    agency_id: str
    participant_id: UUID
    correlation_id: str


@dataclass(frozen=True)
class NewSubscription:
    subscription_id: UUID
    agency_id: str
    order: CreateWebhookSubscription
    secret: str
    created_by: str
    created_at: datetime


class Tables(Protocol):
    async def lock_alert(self, alert_id: UUID, agency_id: str) -> AlertRow | None:
        """The agency's alert row, held until commit; None for a missing or another agency's alert."""
        ...

    async def save_alert(self, state: Alert, agency_id: str, correlation_id: str, now: datetime) -> None: ...

    async def acknowledgement(self, alert_id: UUID) -> tuple[str, datetime]:
        """Who acknowledged the alert first, and when."""
        ...

    async def participant(self, participant_id: UUID) -> ParticipantRecord | None: ...

    async def save_preferences(
        self, agency_id: str, recipient_id: str, email: str | None, channels: Sequence[str] | None,
        quiet_hours: str | None, time_zone: str,
    ) -> None: ...

    async def preferences(self, agency_id: str, recipient_id: str) -> dict[str, Any] | None: ...

    async def insert_subscription(self, new: NewSubscription) -> None: ...

    async def deactivate_subscription(self, subscription_id: UUID, agency_id: str) -> bool:
        """False when the agency has no such subscription."""
        ...

    async def save_staff(self, staff: AgencyStaff) -> None: ...


@dataclass(frozen=True)
class PostgresTables:
    conn: Any
    #: seals a participant's own e-mail address under their data key
    keys: KeyRing | None = None

    async def lock_alert(self, alert_id: UUID, agency_id: str) -> AlertRow | None:
        row = await self.conn.fetchrow(
            "SELECT agency_id, participant_id, correlation_id FROM alerts WHERE alert_id = $1 AND agency_id = $2"
            " FOR UPDATE",
            alert_id,
            agency_id,
        )
        return None if row is None else AlertRow(row["agency_id"], row["participant_id"], row["correlation_id"])

    async def save_alert(self, state: Alert, agency_id: str, correlation_id: str, now: datetime) -> None:
        await repository.upsert_alert(self.conn, state, agency_id, correlation_id, now)

    async def acknowledgement(self, alert_id: UUID) -> tuple[str, datetime]:
        row = await self.conn.fetchrow(
            "SELECT acknowledged_at, acknowledged_by FROM alerts WHERE alert_id = $1", alert_id
        )
        return row["acknowledged_by"], row["acknowledged_at"]

    async def participant(self, participant_id: UUID) -> ParticipantRecord | None:
        return await repository.load_record(self.conn, participant_id)

    async def save_preferences(
        self, agency_id: str, recipient_id: str, email: str | None, channels: Sequence[str] | None,
        quiet_hours: str | None, time_zone: str,
    ) -> None:
        if self.keys is None:
            raise RuntimeError("preferences are written with a key ring (a participant's address is sealed)")
        email = await repository.seal_email(self.conn, self.keys, agency_id, recipient_id, email)
        await repository.save_preferences(self.conn, agency_id, recipient_id, email, channels, quiet_hours, time_zone)

    async def preferences(self, agency_id: str, recipient_id: str) -> dict[str, Any] | None:
        return await repository.load_preferences_row(self.conn, agency_id, recipient_id, self.keys)

    async def insert_subscription(self, new: NewSubscription) -> None:
        o = new.order
        await repository.insert_subscription(
            self.conn, new.subscription_id, new.agency_id, o.url, o.event_types, new.secret, o.description,
            new.created_by, new.created_at, o.include_details,
        )

    async def deactivate_subscription(self, subscription_id: UUID, agency_id: str) -> bool:
        done = await self.conn.fetchval(
            "UPDATE webhook_subscriptions SET active = false WHERE subscription_id = $1 AND agency_id = $2"
            " RETURNING 1",
            subscription_id,
            agency_id,
        )
        return bool(done)

    async def save_staff(self, staff: AgencyStaff) -> None:
        await repository.save_staff(self.conn, staff)


@dataclass
class InMemoryTables:
    alerts: dict[UUID, tuple[AlertRow, Alert, datetime | None]] = field(default_factory=dict)
    participants: dict[UUID, ParticipantRecord] = field(default_factory=dict)
    preference_rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[UUID, tuple[NewSubscription, bool]] = field(default_factory=dict)
    staff: dict[str, AgencyStaff] = field(default_factory=dict)

    async def lock_alert(self, alert_id: UUID, agency_id: str) -> AlertRow | None:
        row = self.alerts.get(alert_id)
        return row[0] if row is not None and row[0].agency_id == agency_id else None

    async def save_alert(self, state: Alert, agency_id: str, correlation_id: str, now: datetime) -> None:
        assert state.alert_id is not None and state.participant_id is not None
        old = self.alerts.get(state.alert_id)
        first_ack = old[2] if old is not None and old[2] is not None else (now if state.acknowledged_by else None)
        kept = old[1] if old is not None and old[1].acknowledged_by else state
        self.alerts[state.alert_id] = (AlertRow(agency_id, state.participant_id, correlation_id), kept, first_ack)

    async def acknowledgement(self, alert_id: UUID) -> tuple[str, datetime]:
        _, state, at = self.alerts[alert_id]
        assert state.acknowledged_by is not None and at is not None
        return state.acknowledged_by, at

    async def participant(self, participant_id: UUID) -> ParticipantRecord | None:
        return self.participants.get(participant_id)

    async def save_preferences(
        self, agency_id: str, recipient_id: str, email: str | None, channels: Sequence[str] | None,
        quiet_hours: str | None, time_zone: str,
    ) -> None:
        self.preference_rows[(agency_id, recipient_id)] = {
            "recipient_id": recipient_id, "email": email, "channels": list(channels) if channels is not None else None,
            "quiet_hours": quiet_hours, "time_zone": time_zone, "updated_at": datetime.now(UTC),
        }

    async def preferences(self, agency_id: str, recipient_id: str) -> dict[str, Any] | None:
        return self.preference_rows.get((agency_id, recipient_id))

    async def insert_subscription(self, new: NewSubscription) -> None:
        self.subscriptions[new.subscription_id] = (new, True)

    async def deactivate_subscription(self, subscription_id: UUID, agency_id: str) -> bool:
        found = self.subscriptions.get(subscription_id)
        if found is None or found[0].agency_id != agency_id:
            return False
        self.subscriptions[subscription_id] = (found[0], False)
        return True

    async def save_staff(self, staff: AgencyStaff) -> None:
        self.staff[staff.agency_id] = staff
