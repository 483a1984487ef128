"""A referral's webhook checks the consent again at send time: revoked, expired or withdrawn, the
disclosure is not sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from test_notifications_flow import Agency, enrol, store_events

from shared.catalogue.intake import ConsentRevoked, ReferralRequested
from shared.testing.auth import bearer
from shared.testing.kafka import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def _partner_subscription(service, receiver, path: str) -> str:
    partner = f"partner-{uuid.uuid4().hex[:6]}"
    r = await service.client.post(
        "/v1/webhook-subscriptions", headers=bearer(sub="p-admin", agency_id=partner, roles=("agency_admin",)),
        json={"url": receiver.url(path), "event_types": ["ReferralRequested"]},
    )
    assert r.status_code == 201, r.text
    return partner


def _referral(pid: uuid.UUID, consent_id: uuid.UUID, partner: str) -> ReferralRequested:
    return ReferralRequested(
        participant_id=pid, referral_id=uuid.uuid4(), consent_id=consent_id, recipient_agency_id=partner,
        purpose="mental_health_referral", information=("risk_level",),
        redisclosure_notice="42 CFR part 2 prohibits unauthorized redisclosure", requested_at=datetime.now(UTC),
    )


async def test_a_referral_whose_consent_was_revoked_is_not_sent(service, upstream, receiver):
    agency = await Agency(service).setup()
    path = f"/revoked/{agency.id}"
    partner = await _partner_subscription(service, receiver, path)
    pid = await enrol(upstream, agency)
    consent_id = uuid.uuid4()
    await upstream.publish(ConsentRevoked(participant_id=pid, consent_id=consent_id, revoked_at=datetime.now(UTC)),
                           agency_id=agency.id, participant_id=pid)

    async def heard():
        return await service.runtime.pool.fetchval("SELECT 1 FROM withdrawn_consents WHERE id = $1", consent_id)

    await eventually(heard, timeout=20, message="the revocation in notifications")
    await upstream.publish(_referral(pid, consent_id, partner), agency_id=agency.id, participant_id=pid)

    async def failed():
        return await store_events(service, "NotificationFailed", pid) or None

    [event] = await eventually(failed, timeout=20, message="the withheld referral")
    assert event["data"]["reason"] == "consent-withdrawn: the consent no longer allows this disclosure"
    assert receiver.to(path) == []


async def test_a_referral_under_a_standing_consent_is_sent(service, upstream, receiver):
    agency = await Agency(service).setup()
    path = f"/standing/{agency.id}"
    partner = await _partner_subscription(service, receiver, path)
    pid = await enrol(upstream, agency)
    await upstream.publish(_referral(pid, uuid.uuid4(), partner), agency_id=agency.id, participant_id=pid)

    async def delivered():
        return [c for c in receiver.to(path) if c.status == 200] or None

    [call] = await eventually(delivered, timeout=20, message="the referral webhook")
    assert call.json()["referral"]["redisclosure_notice"].startswith("42 CFR")
