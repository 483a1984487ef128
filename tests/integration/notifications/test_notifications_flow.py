"""Notifications on real Kafka, PostgreSQL and SMTP: the ladder, webhooks, redelivery, escalation."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notifications.domain.webhooks import verify
from shared.catalogue.intake import (
    ContactWindow,
    ParticipantEnrolled,
    ParticipantTimeZoneChanged,
    ReferralRequested,
    SafetyConcernRaised,
    SupportContactConsentChanged,
    SupportContactRef,
)
from shared.catalogue.monitoring import CheckInMissed, HelpRequested, MilestoneReached
from shared.catalogue.planning import PlanCreated
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def now() -> datetime:
    return datetime.now(UTC)


class Agency:
    """A fresh agency with a specialist, supervisor and admin, all with email addresses."""

    def __init__(self, service) -> None:
        tag = uuid.uuid4().hex[:8]
        self.id = f"agency-{tag}"
        self.specialist, self.supervisor, self.admin = f"spec-{tag}", f"sup-{tag}", f"admin-{tag}"
        self.client = service.client

    def auth(self, sub: str, role: str) -> dict[str, str]:
        return bearer(sub=sub, agency_id=self.id, roles=(role,))

    @property
    def admin_auth(self) -> dict[str, str]:
        return self.auth(self.admin, "agency_admin")

    def email(self, who: str) -> str:
        return f"{who}@{self.id}.test"

    async def setup(self) -> Agency:
        r = await self.client.put(
            "/v1/agency-staff",
            headers=self.admin_auth,
            json={"supervisor_id": self.supervisor, "agency_admin_id": self.admin},
        )
        assert r.status_code == 204, r.text
        for who in (self.specialist, self.supervisor, self.admin):
            await self.prefer(who)
        return self

    async def prefer(self, recipient: str, **extra) -> None:
        r = await self.client.put(
            f"/v1/recipients/{recipient}/preferences",
            headers=self.admin_auth,
            json={"email": self.email(recipient), **extra},
        )
        assert r.status_code == 200, r.text

    async def inbox(self, who: str, role: str) -> list[dict]:
        r = await self.client.get("/v1/notifications", headers=self.auth(who, role))
        assert r.status_code == 200, r.text
        return r.json()["notifications"]


async def enrol(upstream, agency: Agency, **extra) -> uuid.UUID:
    pid = uuid.uuid4()
    await upstream.publish(
        ParticipantEnrolled(participant_id=pid, specialist_id=agency.specialist, enrolled_at=now(), **extra),
        agency_id=agency.id,
        participant_id=pid,
    )
    return pid


async def mails_to(mail, address: str, count: int, timeout: float = 15.0):
    async def check():
        found = mail.to(address)
        return found if len(found) >= count else None

    return await eventually(check, timeout=timeout, message=f"{count} mail(s) to {address}")


async def store_events(service, event_type: str, participant_id: uuid.UUID) -> list[dict]:
    rows = await service.runtime.pool.fetch(
        "SELECT data, metadata FROM events WHERE event_type = $1 AND participant_id = $2 ORDER BY global_position",
        event_type,
        participant_id,
    )
    return [{"data": _json(r["data"]), "metadata": _json(r["metadata"])} for r in rows]


async def settled(service, participant_id: uuid.UUID) -> None:
    """Wait until every email and webhook of the participant has its outcome recorded."""

    async def nothing_pending():
        pending = await service.runtime.pool.fetchval(
            "SELECT count(*) FROM deliveries WHERE participant_id = $1 AND status = 'pending'", participant_id
        )
        return pending == 0

    await eventually(nothing_pending, timeout=15, message="all deliveries settled")


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def test_three_missed_windows_climb_the_whole_ladder(service, upstream, mail):
    agency = await Agency(service).setup()
    consenting, declining = uuid.uuid4(), uuid.uuid4()
    pid = await enrol(
        upstream,
        agency,
        support_contacts=(
            SupportContactRef(
                support_contact_id=consenting, relation="friend", channel="email", consent_to_contact=True
            ),
            SupportContactRef(
                support_contact_id=declining, relation="sibling", channel="email", consent_to_contact=False
            ),
        ),
    )
    await agency.prefer(str(pid))
    await agency.prefer(str(consenting))
    await agency.prefer(str(declining))

    window = timedelta(seconds=2)
    start = now()
    causes = []
    for n in (1, 2, 3):
        due = start + n * window
        await asyncio.sleep(max(0.0, (due - now()).total_seconds()))
        causes.append(
            await upstream.publish(
                CheckInMissed(
                    participant_id=pid, due_at=due - window, deadline=due, consecutive_misses=n, detected_at=due
                ),
                agency_id=agency.id,
                participant_id=pid,
            )
        )
        if n == 1:
            [reminder] = await mails_to(mail, agency.email(str(pid)), 1)
            assert "check-in" in reminder.subject.lower()
            assert mail.to(agency.email(agency.specialist)) == []
        if n == 2:
            [outreach] = await mails_to(mail, agency.email(agency.specialist), 1)
            assert "two check-ins" in outreach.subject
            assert mail.to(agency.email(agency.supervisor)) == []
    [urgent] = await mails_to(mail, agency.email(agency.supervisor), 1)
    assert urgent.subject.startswith("Urgent")
    await mails_to(mail, agency.email(str(consenting)), 1)
    await asyncio.sleep(1.0)
    assert mail.to(agency.email(str(declining))) == []
    assert len(mail.to(agency.email(str(pid)))) == 1

    # (the supervisor's urgent alert may escalate meanwhile: that is another test's subject)
    sent = [s for s in await store_events(service, "NotificationSent", pid) if s["data"]["rule"] != "alert.escalated"]
    by_rule = sorted((s["data"]["rule"], s["data"]["channel"]) for s in sent)
    assert by_rule == sorted(
        [
            ("missed-check-in.reminder", "email"),
            ("missed-check-in.outreach", "in_app"),
            ("missed-check-in.outreach", "email"),
            ("missed-check-in.supervisor", "in_app"),
            ("missed-check-in.supervisor", "email"),
            ("missed-check-in.support-contact", "email"),
        ]
    )
    # Every delivery is traceable to the missed window that caused it.
    assert {s["data"]["cause_event_id"] for s in sent} == {str(c) for c in causes}
    assert all(s["metadata"]["causation_id"] in {str(c) for c in causes} for s in sent)
    [supervisor_item] = await agency.inbox(agency.supervisor, "supervisor")
    assert supervisor_item["urgent"] and supervisor_item["alert_id"]


async def test_a_webhook_that_fails_twice_then_succeeds_gets_the_message_exactly_once(
    service, upstream, mail, receiver
):
    agency = await Agency(service).setup()
    path = f"/fail-2/{agency.id}"
    r = await service.client.post(
        "/v1/webhook-subscriptions",
        headers=agency.admin_auth,
        json={"url": receiver.url(path), "event_types": ["MilestoneReached"]},
    )
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    pid = await enrol(upstream, agency)
    await agency.prefer(str(pid))
    cause = await upstream.publish(
        MilestoneReached(
            participant_id=pid,
            milestone="30 days",
            days=30,
            reached_on=date.today(),
            counted_from=date.today() - timedelta(days=30),
        ),
        agency_id=agency.id,
        participant_id=pid,
    )

    async def delivered():
        ok = [c for c in receiver.to(path) if c.status == 200]
        return ok or None

    [success] = await eventually(delivered, timeout=20, message="the webhook delivery")
    await asyncio.sleep(1.5)  # nothing more may arrive after the success
    calls = receiver.to(path)
    assert [c.status for c in calls] == [503, 503, 200]
    assert len({c.headers["Waypoint-Delivery-Id"] for c in calls}) == 1
    assert all(verify(secret, c.body, c.headers, now()) for c in calls)
    assert not verify("wrong-secret", success.body, success.headers, now())
    body = success.json()
    assert body["event"] == {
        "id": str(cause),
        "type": "MilestoneReached",
        "occurred_at": body["event"]["occurred_at"],
        "participant_id": str(pid),
    }
    assert "30 days" not in success.body.decode()  # minimum necessary: a link, not the record

    # The participant's email did not wait for the flaky webhook.
    [congratulations] = await mails_to(mail, agency.email(str(pid)), 1)
    assert congratulations.at < success.at

    webhook_sent = [
        s for s in await store_events(service, "NotificationSent", pid) if s["data"]["channel"] == "webhook"
    ]
    assert len(webhook_sent) == 1 and webhook_sent[0]["data"]["attempts"] == 3
    assert len(await store_events(service, "DeliveryAttemptFailed", pid)) == 2


async def test_a_webhook_that_never_answers_ends_in_notification_failed(service, upstream, receiver):
    agency = await Agency(service).setup()
    partner = f"partner-{uuid.uuid4().hex[:6]}"
    # The receiving agency subscribed to referrals under its own agency id.
    r = await service.client.post(
        "/v1/webhook-subscriptions",
        headers=bearer(sub="p-admin", agency_id=partner, roles=("agency_admin",)),
        json={"url": receiver.url(f"/down/{partner}"), "event_types": ["ReferralRequested"]},
    )
    assert r.status_code == 201
    pid = await enrol(upstream, agency)
    await upstream.publish(
        ReferralRequested(
            participant_id=pid,
            referral_id=uuid.uuid4(),
            consent_id=uuid.uuid4(),
            recipient_agency_id=partner,
            purpose="mental_health_referral",
            information=("risk_level",),
            redisclosure_notice="42 CFR part 2 prohibits unauthorized redisclosure",
            requested_at=now(),
        ),
        agency_id=agency.id,
        participant_id=pid,
    )

    async def failed():
        return await store_events(service, "NotificationFailed", pid) or None

    [event] = await eventually(failed, timeout=20, message="NotificationFailed")
    assert event["data"]["attempts"] == 4 and event["data"]["recipient_id"] == partner
    call = receiver.to(f"/down/{partner}")[0]
    assert call.json()["referral"]["redisclosure_notice"].startswith("42 CFR")


async def test_a_redelivered_event_sends_nothing_new(service, upstream, mail):
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    cause = await upstream.publish(
        SafetyConcernRaised(
            participant_id=pid,
            assessment_id=uuid.uuid4(),
            concerns=("self_harm_thoughts",),
            phq9_item9=2,
            raised_at=now(),
        ),
        agency_id=agency.id,
        participant_id=pid,
    )
    await mails_to(mail, agency.email(agency.specialist), 1)
    await mails_to(mail, agency.email(agency.supervisor), 1)
    await settled(service, pid)
    # Unacknowledged, these urgent alerts will escalate (another test's subject): count the rest.
    caused = (
        "SELECT count(*) FROM events WHERE participant_id = $1 AND event_type <> 'AlertEscalated'"
        " AND coalesce(data->>'rule', '') <> 'alert.escalated'"
    )
    before = await service.runtime.pool.fetchval(caused, pid)

    await upstream.redeliver(cause)  # the kernel's inbox drops it
    # ...and even with the inbox forgotten, the notification streams themselves refuse a second send.
    await service.runtime.pool.execute("DELETE FROM inbox WHERE event_id = $1", cause)
    await upstream.redeliver(cause)

    async def reprocessed():
        return await service.runtime.pool.fetchval("SELECT 1 FROM inbox WHERE event_id = $1", cause)

    await eventually(reprocessed, timeout=15, message="the redelivered record to be consumed")
    await asyncio.sleep(1.5)
    after = await service.runtime.pool.fetchval(caused, pid)
    assert after == before
    for who in (agency.specialist, agency.supervisor):
        caused_mails = [m for m in mail.to(agency.email(who)) if "not acknowledged" not in m.subject]
        assert len(caused_mails) == 1
    assert "self_harm" not in mail.to(agency.email(agency.specialist))[0].text


async def test_an_unacknowledged_urgent_alert_escalates_one_level_up(service, upstream, mail):
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    await upstream.publish(
        HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=now()),
        agency_id=agency.id,
        participant_id=pid,
    )
    [specialist_item] = await eventually(
        lambda: agency.inbox(agency.specialist, "specialist"), timeout=15, message="the specialist's alert"
    )
    supervisor_items = await eventually(
        lambda: agency.inbox(agency.supervisor, "supervisor"), timeout=15, message="the supervisor's alert"
    )
    # The supervisor acknowledges their own alert; the specialist never answers.
    [own] = supervisor_items
    r = await service.client.post(
        f"/v1/alerts/{own['alert_id']}/acknowledge", headers=agency.auth(agency.supervisor, "supervisor")
    )
    assert r.status_code == 200, r.text
    alert_id = specialist_item["alert_id"]

    async def of_alert(event_type):
        return [e for e in await store_events(service, event_type, pid) if e["data"]["alert_id"] == alert_id]

    async def escalated():
        return await of_alert("AlertEscalated") or None

    [event] = await eventually(escalated, timeout=15, message="AlertEscalated")
    assert (event["data"]["from_role"], event["data"]["to_role"]) == ("specialist", "supervisor")
    assert event["metadata"]["causation_id"] == specialist_item["cause_event_id"]
    notices = await mails_to(mail, agency.email(agency.supervisor), 2)
    assert any("not acknowledged" in m.subject for m in notices)

    # Nobody else may acknowledge it; the supervisor it escalated to may.
    r = await service.client.post(
        f"/v1/alerts/{alert_id}/acknowledge", headers=agency.auth("someone-else", "specialist")
    )
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert await of_alert("AlertAcknowledged") == []  # nothing changed
    r = await service.client.post(
        f"/v1/alerts/{alert_id}/acknowledge", headers=agency.auth(agency.supervisor, "supervisor")
    )
    assert r.status_code == 200 and r.json()["acknowledged_by"] == agency.supervisor
    assert len(await of_alert("AlertAcknowledged")) == 1
    unanswered = await agency.inbox(agency.supervisor, "supervisor")
    assert all(item["acknowledged_at"] for item in unanswered if item["alert_id"] == alert_id)
    # Acknowledged: it climbs no further, even after another timeout.
    await asyncio.sleep(service.cfg.ack_timeout_s + 1)
    assert len(await of_alert("AlertEscalated")) == 1


async def test_quiet_hours_hold_routine_email_but_never_an_urgent_one(service, upstream, mail):
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency)
    local = now()
    window = f"{(local - timedelta(hours=1)):%H:00}-{(local + timedelta(hours=2)):%H:00}"
    await agency.prefer(str(pid), quiet_hours=window)
    await agency.prefer(agency.specialist, quiet_hours=window)
    await upstream.publish(
        MilestoneReached(
            participant_id=pid,
            milestone="7 days",
            days=7,
            reached_on=date.today(),
            counted_from=date.today() - timedelta(days=7),
        ),
        agency_id=agency.id,
        participant_id=pid,
    )
    await upstream.publish(
        HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=now()),
        agency_id=agency.id,
        participant_id=pid,
    )
    await mails_to(mail, agency.email(agency.specialist), 1)  # urgent: straight through quiet hours
    held = await service.runtime.pool.fetchrow(
        "SELECT status, due_at FROM deliveries WHERE participant_id = $1 AND rule = 'milestone.congratulations'", pid
    )
    assert held["status"] == "pending" and held["due_at"] > now() + timedelta(minutes=30)
    assert mail.to(agency.email(str(pid))) == []


# Zones around the globe whose neighbours' UTC offsets are at most 6 hours apart: at any instant,
# at least one of them has a local time between 19:00 and 08:00.
ZONES = (
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Pacific/Auckland",
)


def zone_outside_office_hours(at: datetime) -> ZoneInfo:
    """A zone where ``at`` is at least an hour outside 09:00-18:00 local time."""
    for name in ZONES:
        zone = ZoneInfo(name)
        local = at.astimezone(zone).time()
        if local >= time(19) or local < time(8):
            return zone
    raise AssertionError(f"no zone of {ZONES} is outside office hours at {at}")


async def test_a_participant_hears_routine_news_only_in_their_preferred_hours_urgent_news_at_once(
    service, upstream, mail
):
    agency = await Agency(service).setup()
    zone = zone_outside_office_hours(now())
    pid = await enrol(upstream, agency, time_zone=zone.key, preferred_hours=ContactWindow(start=time(9), end=time(18)))
    await directory_zone(service, pid, zone.key)  # enrolment and misses travel on different topics
    await agency.prefer(str(pid))  # an address, and no quiet hours of their own
    for n in (1, 2):  # 1st miss: a reminder to the participant; 2nd: routine outreach to the specialist
        await upstream.publish(
            CheckInMissed(participant_id=pid, due_at=now(), deadline=now(), consecutive_misses=n, detected_at=now()),
            agency_id=agency.id,
            participant_id=pid,
        )
    await upstream.publish(
        HelpRequested(participant_id=pid, help_request_id=uuid.uuid4(), requested_at=now()),
        agency_id=agency.id,
        participant_id=pid,
    )
    # Staff are not held by the participant's hours, and urgent news never waits.
    await mails_to(mail, agency.email(agency.specialist), 2)
    await mails_to(mail, agency.email(agency.supervisor), 1)

    local = now().astimezone(zone)
    opens = datetime.combine(local.date() + timedelta(days=local.time() >= time(9)), time(9), tzinfo=zone)
    held = await service.runtime.pool.fetchrow(
        "SELECT notification_id, status, due_at FROM deliveries"
        " WHERE participant_id = $1 AND rule = 'missed-check-in.reminder'",
        pid,
    )
    assert (held["status"], held["due_at"]) == ("pending", opens), f"held until 09:00 in {zone.key}"
    assert mail.to(agency.email(str(pid))) == []

    # The preferred hours begin (simulated): the reminder goes out.
    await service.runtime.pool.execute(
        "UPDATE deliveries SET due_at = now() WHERE notification_id = $1", held["notification_id"]
    )
    await mails_to(mail, agency.email(str(pid)), 1)


def zone_inside_office_hours(at: datetime) -> ZoneInfo:
    """A zone where ``at`` is at least an hour inside 09:00-18:00 local time."""
    for name in ZONES:
        zone = ZoneInfo(name)
        local = at.astimezone(zone).time()
        if time(10) <= local < time(17):
            return zone
    raise AssertionError(f"no zone of {ZONES} is inside office hours at {at}")


async def directory_zone(service, participant_id: uuid.UUID, expected: str) -> None:
    async def check():
        zone = await service.runtime.pool.fetchval(
            "SELECT time_zone FROM recipient_directory WHERE participant_id = $1", participant_id
        )
        return zone == expected

    await eventually(check, timeout=15, message=f"the directory to hold {expected}")


async def test_after_a_time_zone_change_a_reminder_waits_for_the_preferred_hours_in_the_new_zone(
    service, upstream, mail
):
    agency = await Agency(service).setup()
    old, new = zone_inside_office_hours(now()), zone_outside_office_hours(now())
    pid = await enrol(upstream, agency, time_zone=old.key, preferred_hours=ContactWindow(start=time(9), end=time(18)))
    await agency.prefer(str(pid))  # an address, and no quiet hours of their own
    await directory_zone(service, pid, old.key)
    await upstream.publish(
        ParticipantTimeZoneChanged(participant_id=pid, time_zone=new.key, previous_time_zone=old.key, changed_at=now()),
        agency_id=agency.id,
        participant_id=pid,
    )
    # The change comes on intake's topic and the miss on monitoring's: wait until it is consumed.
    await directory_zone(service, pid, new.key)
    await upstream.publish(
        CheckInMissed(participant_id=pid, due_at=now(), deadline=now(), consecutive_misses=1, detected_at=now()),
        agency_id=agency.id,
        participant_id=pid,
    )

    async def reminder():
        return await service.runtime.pool.fetchrow(
            "SELECT notification_id, status, due_at FROM deliveries"
            " WHERE participant_id = $1 AND rule = 'missed-check-in.reminder'",
            pid,
        )

    held = await eventually(reminder, timeout=15, message="the reminder")
    local = now().astimezone(new)
    opens = datetime.combine(local.date() + timedelta(days=local.time() >= time(9)), time(9), tzinfo=new)
    # In the old zone it is office time: the reminder would have gone out at once.
    assert (held["status"], held["due_at"]) == ("pending", opens), f"held until 09:00 in {new.key}, not {old.key}"
    await asyncio.sleep(1.0)  # a few dispatcher polls
    assert mail.to(agency.email(str(pid))) == []

    # The preferred hours begin in the new zone (simulated): the reminder goes out.
    await service.runtime.pool.execute(
        "UPDATE deliveries SET due_at = now() WHERE notification_id = $1", held["notification_id"]
    )
    await mails_to(mail, agency.email(str(pid)), 1)


async def test_a_new_draft_plan_lands_in_the_specialists_inbox_only(service, upstream, mail):
    # The behaviour the backbone e2e relies on: one in-app item, rule "plan-created-tell-specialist".
    agency = Agency(service)  # no agency configuration at all: the directory alone is enough
    pid = await enrol(upstream, agency)
    await upstream.publish(
        PlanCreated(participant_id=pid, plan_id=uuid.uuid4(), version=1, status="draft"),
        agency_id=agency.id,
        participant_id=pid,
    )
    [item] = await eventually(
        lambda: agency.inbox(agency.specialist, "specialist"), timeout=15, message="the inbox item"
    )
    assert (item["participant_id"], item["rule"], item["channel"]) == (
        str(pid),
        "plan-created-tell-specialist",
        "in_app",
    )
    assert item["alert_id"] and item["acknowledged_at"] is None
    await asyncio.sleep(0.5)
    assert mail.to(agency.email(agency.specialist)) == []
    assert await agency.inbox(agency.specialist, "specialist") == [item]
    assert await agency.inbox(agency.specialist, "supervisor") == [item]  # the inbox is the caller's, by sub
    assert await Agency(service).inbox(agency.specialist, "specialist") == []  # another agency sees nothing


async def test_an_agencys_own_system_may_ask_for_coded_details_but_never_free_text(service, upstream, receiver):
    agency = await Agency(service).setup()
    path = f"/fail-0/{agency.id}"
    r = await service.client.post(
        "/v1/webhook-subscriptions",
        headers=agency.admin_auth,
        json={
            "url": receiver.url(path),
            "event_types": ["MilestoneReached", "RelapseReported"],
            "include_details": True,
        },
    )
    assert r.status_code == 201 and r.json()["include_details"] is True
    pid = await enrol(upstream, agency)
    await upstream.publish(
        MilestoneReached(
            participant_id=pid,
            milestone="90 days",
            days=90,
            reached_on=date.today(),
            counted_from=date.today() - timedelta(days=90),
        ),
        agency_id=agency.id,
        participant_id=pid,
    )
    [call] = await eventually(lambda: _calls(receiver, path), timeout=15, message="the webhook")
    assert call.json()["data"] == {"days": 90}
    assert "90 days" not in call.body.decode()


async def _calls(receiver, path):
    return receiver.to(path) or None


async def test_a_support_contact_held_by_quiet_hours_is_not_contacted_once_consent_is_withdrawn(
    service, upstream, mail
):
    agency = await Agency(service).setup()
    contact = uuid.uuid4()
    pid = await enrol(
        upstream,
        agency,
        support_contacts=(
            SupportContactRef(support_contact_id=contact, relation="friend", channel="email", consent_to_contact=True),
        ),
    )
    local = now()
    await agency.prefer(
        str(contact), quiet_hours=f"{(local - timedelta(hours=1)):%H:00}-{(local + timedelta(hours=2)):%H:00}"
    )
    for n in (1, 2, 3):
        await upstream.publish(
            CheckInMissed(participant_id=pid, due_at=now(), deadline=now(), consecutive_misses=n, detected_at=now()),
            agency_id=agency.id,
            participant_id=pid,
        )
    await mails_to(mail, agency.email(agency.supervisor), 1)

    async def held():
        return await service.runtime.pool.fetchval(
            "SELECT notification_id FROM deliveries"
            " WHERE participant_id = $1 AND recipient_id = $2 AND status = 'pending'",
            pid,
            str(contact),
        )

    notification_id = await eventually(held, timeout=10, message="the held support-contact email")
    await upstream.publish(
        SupportContactConsentChanged(
            participant_id=pid, support_contact_id=contact, consent_to_contact=False, changed_at=now()
        ),
        agency_id=agency.id,
        participant_id=pid,
    )

    async def withdrawn():
        record = await service.runtime.pool.fetchval(
            "SELECT support_contacts FROM recipient_directory WHERE participant_id = $1", pid
        )
        return record is not None and json.loads(record) == [
            {"support_contact_id": str(contact), "consent_to_contact": False}
        ]

    await eventually(withdrawn, timeout=10, message="the withdrawal in the directory")
    # The quiet hours end (simulated): the email falls due, and fails closed instead of going out.
    await service.runtime.pool.execute(
        "UPDATE deliveries SET due_at = now() WHERE notification_id = $1", notification_id
    )

    async def failed():
        return [
            e
            for e in await store_events(service, "NotificationFailed", pid)
            if e["data"]["recipient_id"] == str(contact)
        ] or None

    [event] = await eventually(failed, timeout=10, message="NotificationFailed for the support contact")
    assert "no longer consents" in event["data"]["reason"]
    assert mail.to(agency.email(str(contact))) == []


async def test_quiet_hours_set_without_a_zone_are_in_the_participants_zone_from_enrolment(service, upstream):
    agency = await Agency(service).setup()
    pid = await enrol(upstream, agency, time_zone="Asia/Tokyo")

    async def in_directory():
        return await service.runtime.pool.fetchval(
            "SELECT time_zone FROM recipient_directory WHERE participant_id = $1", pid
        )

    assert await eventually(in_directory) == "Asia/Tokyo"
    await agency.prefer(str(pid), quiet_hours="22:00-07:00")
    await agency.prefer(agency.specialist, quiet_hours="22:00-07:00")
    await agency.prefer(str(uuid.uuid4()), quiet_hours="22:00-07:00")  # not a participant we know
    zones = {
        r["recipient_id"]: r["time_zone"]
        for r in await service.runtime.pool.fetch(
            "SELECT recipient_id, time_zone FROM recipient_preferences WHERE agency_id = $1", agency.id
        )
    }
    assert zones[str(pid)] == "Asia/Tokyo"
    assert zones[agency.specialist] == "UTC"
    assert sorted(zones.values()).count("UTC") == len(zones) - 1
    await agency.prefer(str(pid), quiet_hours="22:00-07:00", time_zone="Europe/Lisbon")  # given: it wins
    assert (
        await service.runtime.pool.fetchval(
            "SELECT time_zone FROM recipient_preferences WHERE agency_id = $1 AND recipient_id = $2",
            agency.id,
            str(pid),
        )
        == "Europe/Lisbon"
    )
