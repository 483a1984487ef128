"""Notifications' command handlers on the in-memory unit of work (no database, no Kafka):
acknowledge an alert, preferences, webhook subscriptions, agency staff."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from uuid import UUID, uuid4

import pytest

from services.notifications.adapters.streams import alerts
from services.notifications.adapters.tables import InMemoryTables
from services.notifications.application import commands
from services.notifications.domain.alerts import AcknowledgeAlert, NotYourAlert, alert_id_for, decide_raise
from services.notifications.domain.directory import AgencyStaff, ParticipantRecord, SetAgencyStaff
from services.notifications.domain.intents import NotificationIntent
from services.notifications.domain.preferences import SetPreferences
from services.notifications.domain.subscriptions import CreateWebhookSubscription, DeactivateWebhookSubscription
from services.notifications.domain.vocabulary import Channel, Role, Rule, Urgency
from shared.catalogue.notifications import AlertAcknowledged, AlertRaised
from shared.clock import ManualClock
from shared.domain import NotFound
from shared.memory import InMemoryUnitsOfWork
from shared.uow import UnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AGENCY = "agency-a"
PID = UUID("00000000-0000-0000-0000-0000000000cc")
C = TypeVar("C")
R = TypeVar("R")


class Notifications:
    def __init__(self) -> None:
        self.tables = InMemoryTables()
        self.clock = ManualClock(NOW)
        self.units = InMemoryUnitsOfWork("notifications", clock=self.clock, tables=self.tables)

    async def run(self, handle: Callable[[C, UnitOfWork], Awaitable[R]], command: C, *, agency: str = AGENCY,
                  actor: str = "crs-1") -> R:
        async with self.units.open(agency_id=agency, actor=actor) as uow:
            return await handle(command, uow)

    async def raised_alert(self, recipient: str = "crs-1") -> UUID:
        """Given: an urgent alert raised for ``recipient`` (as the consumer raises it)."""
        intent = NotificationIntent(Rule(next(iter(Rule)).value), Role.SPECIALIST, recipient, (Channel.IN_APP,),
                                    Urgency.URGENT, uuid4(), PID)
        alert_id = alert_id_for(intent)
        async with self.units.open(agency_id=AGENCY) as uow:
            raised = await alerts.execute(uow, alert_id, lambda s: decide_raise(s, intent, NOW, timedelta(minutes=15)),
                                          participant_id=PID)
            await self.tables.save_alert(raised.state, AGENCY, "corr-1", NOW)
        return alert_id


@pytest.fixture
def service() -> Notifications:
    return Notifications()


async def test_acknowledging_an_alert_records_who_and_when_once(service: Notifications) -> None:
    alert_id = await service.raised_alert()
    service.clock.advance(minutes=3)
    first = await service.run(commands.acknowledge_alert, AcknowledgeAlert(alert_id=alert_id, acknowledged_by="crs-1"))
    service.clock.advance(minutes=3)
    again = await service.run(commands.acknowledge_alert, AcknowledgeAlert(alert_id=alert_id, acknowledged_by="crs-1"))
    at = (NOW + timedelta(minutes=3)).isoformat()
    assert first == again == {"alert_id": str(alert_id), "acknowledged_by": "crs-1", "acknowledged_at": at}
    assert [type(e) for e in service.units.published()] == [AlertRaised, AlertAcknowledged]


async def test_an_alert_of_another_agency_or_unknown_answers_not_found(service: Notifications) -> None:
    alert_id = await service.raised_alert()
    with pytest.raises(NotFound):
        await service.run(commands.acknowledge_alert, AcknowledgeAlert(alert_id=alert_id, acknowledged_by="crs-1"),
                          agency="agency-b")
    with pytest.raises(NotFound):
        await service.run(commands.acknowledge_alert, AcknowledgeAlert(alert_id=uuid4(), acknowledged_by="crs-1"))


async def test_only_someone_the_alert_was_addressed_to_may_acknowledge_it(service: Notifications) -> None:
    alert_id = await service.raised_alert(recipient="crs-1")
    with pytest.raises(NotYourAlert):
        await service.run(commands.acknowledge_alert, AcknowledgeAlert(alert_id=alert_id, acknowledged_by="crs-2"))
    assert [type(e) for e in service.units.published()] == [AlertRaised]


async def test_preferences_without_a_zone_take_the_participants_zone_from_enrolment(service: Notifications) -> None:
    service.tables.participants[PID] = ParticipantRecord(PID, AGENCY, "crs-1", time_zone="America/Chicago")
    view = await service.run(commands.set_preferences,
                             SetPreferences(recipient_id=str(PID), quiet_hours="22:00-07:00", channels=("email",)))
    assert (view["time_zone"], view["quiet_hours"], view["channels"]) == ("America/Chicago", "22:00-07:00", ["email"])


async def test_preferences_of_staff_or_another_agencys_participant_default_to_utc(service: Notifications) -> None:
    service.tables.participants[PID] = ParticipantRecord(PID, "agency-b", "crs-9", time_zone="America/Chicago")
    assert (await service.run(commands.set_preferences, SetPreferences(recipient_id=str(PID))))["time_zone"] == "UTC"
    assert (await service.run(commands.set_preferences, SetPreferences(recipient_id="crs-1")))["time_zone"] == "UTC"


async def test_a_subscription_is_created_with_a_secret_shown_once_and_can_be_deactivated(
    service: Notifications,
) -> None:
    order = CreateWebhookSubscription(url="https://partner.example/hook", event_types=("SafetyConcernRaised",))
    created = await service.run(commands.create_subscription, order, actor="admin-1")
    subscription_id = UUID(created["subscription_id"])
    new, active = service.tables.subscriptions[subscription_id]
    assert (created["secret"], created["created_at"], new.created_by, active) == (
        new.secret, NOW.isoformat(), "admin-1", True
    )
    await service.run(commands.deactivate_subscription, DeactivateWebhookSubscription(subscription_id=subscription_id))
    assert service.tables.subscriptions[subscription_id][1] is False


async def test_deactivating_another_agencys_subscription_is_not_found(service: Notifications) -> None:
    order = CreateWebhookSubscription(url="https://partner.example/hook", event_types=("SafetyConcernRaised",))
    created = await service.run(commands.create_subscription, order)
    with pytest.raises(NotFound):
        await service.run(commands.deactivate_subscription,
                          DeactivateWebhookSubscription(subscription_id=UUID(created["subscription_id"])),
                          agency="agency-b")


async def test_agency_staff_are_set_for_the_callers_agency(service: Notifications) -> None:
    await service.run(commands.set_agency_staff, SetAgencyStaff(supervisor_id="sup-1", agency_admin_id="admin-1"))
    assert service.tables.staff == {AGENCY: AgencyStaff(AGENCY, "sup-1", "admin-1")}
