"""The ladder driven by the real monitoring service: a schedule of a few seconds that nobody keeps."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest

from shared.catalogue.intake import ParticipantEnrolled, SupportContactRef
from shared.testing.auth import bearer
from shared.testing.kafka import eventually
from shared.testing.services import running_service

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

LADDER = ["missed-check-in.reminder", "missed-check-in.outreach", "missed-check-in.supervisor"]


async def test_three_missed_windows_from_monitoring_climb_the_ladder(
    service, upstream, mail, kafka_bootstrap, database_url
):
    tag = uuid.uuid4().hex[:8]
    agency, specialist, supervisor = f"agency-{tag}", f"spec-{tag}", f"sup-{tag}"
    admin = bearer(sub=f"admin-{tag}", agency_id=agency, roles=("agency_admin",))
    r = await service.client.put("/v1/agency-staff", headers=admin, json={"supervisor_id": supervisor})
    assert r.status_code == 204
    pid, contact = uuid.uuid4(), uuid.uuid4()
    for who in (specialist, supervisor, str(pid), str(contact)):
        r = await service.client.put(
            f"/v1/recipients/{who}/preferences", headers=admin, json={"email": f"{who}@x.test"}
        )
        assert r.status_code == 200

    async with running_service("monitoring", kafka_bootstrap=kafka_bootstrap, database_url=database_url) as monitoring:
        await upstream.publish(
            ParticipantEnrolled(
                participant_id=pid,
                specialist_id=specialist,
                enrolled_at=datetime.now(UTC),
                support_contacts=(
                    SupportContactRef(
                        support_contact_id=contact, relation="friend", channel="email", consent_to_contact=True
                    ),
                ),
            ),
            agency_id=agency,
            participant_id=pid,
        )
        staff = bearer(sub=specialist, agency_id=agency, roles=("specialist",))

        async def scheduled():
            r = await monitoring.client.put(
                f"/v1/participants/{pid}/check-in-schedule", headers=staff, json={"interval": "PT3S", "grace": "PT1S"}
            )
            return r if r.status_code == 200 else None

        await eventually(scheduled, timeout=20, message="monitoring to know the participant")

        async def ladder_done():
            rows = await service.runtime.pool.fetch(
                "SELECT data FROM events WHERE event_type = 'NotificationSent' AND participant_id = $1"
                " ORDER BY global_position",
                pid,
            )
            rules = [json.loads(r["data"])["rule"] for r in rows]
            return rules if all(rule in rules for rule in LADDER) else None

        rules = await eventually(ladder_done, timeout=40, message="the three rungs of the ladder")
        ladder = [r for r in rules if r.startswith("missed-check-in")]
        firsts = [ladder.index(rung) for rung in LADDER]
        assert firsts == sorted(firsts)  # reminder, then outreach, then supervisor
        for who in (contact, pid, specialist, supervisor):
            await eventually(
                lambda w=who: asyncio.sleep(0, mail.to(f"{w}@x.test")), timeout=15, message=f"mail to {who}"
            )
