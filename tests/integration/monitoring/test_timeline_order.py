"""The timeline reads in the order things happened, whatever order the topics delivered them in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared import cloudevents
from shared.catalogue.intake import ParticipantEnrolled
from shared.catalogue.planning import PlanCreated
from shared.envelope import Metadata, NewEvent
from shared.testing.kafka import eventually, produce_raw

from .helpers import AGENCY, STAFF, monitoring

pytestmark = pytest.mark.integration


def _record(event, service: str, pid: uuid.UUID, at: datetime) -> tuple[str, bytes, list]:
    new = NewEvent(stream_id=f"x-{pid}", stream_type="x", agency_id=AGENCY, participant_id=pid, event=event,
                   metadata=Metadata(correlation_id="c"), occurred_at=at)
    return cloudevents.encode(new, service)


async def test_an_effect_delivered_before_its_cause_is_still_listed_after_it(infra):
    pid = uuid.uuid4()
    enrolled_at = datetime.now(UTC) - timedelta(minutes=5)
    plan = PlanCreated(participant_id=pid, plan_id=uuid.uuid4(), version=1, status="draft")
    enrolment = ParticipantEnrolled(participant_id=pid, specialist_id="crs-1", enrolled_at=enrolled_at)
    async with monitoring(infra, scheduler=False) as svc:
        # planning's record arrives first, though it happened a minute after the enrolment
        for event, service, at in ((plan, "planning", enrolled_at + timedelta(minutes=1)),
                                   (enrolment, "intake", enrolled_at)):
            key, value, headers = _record(event, service, pid, at)
            await produce_raw(infra.kafka_bootstrap, cloudevents.topic_for(service), value, key=key.encode(),
                              headers=headers)

        async def both():
            r = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF)
            types = [e["type"] for e in r.json().get("entries", ())]  # 404 until the assignment is there
            return types if {"PlanCreated", "ParticipantEnrolled"} <= set(types) else None

        types = await eventually(both, timeout=30, message="both events in the timeline")
        assert types.index("ParticipantEnrolled") < types.index("PlanCreated")

        first = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF, params={"limit": 1})
        assert first.json()["entries"][0]["type"] == "ParticipantEnrolled"
        rest = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF,
                                    params={"after": first.json()["next_after"]})
        assert "ParticipantEnrolled" not in [e["type"] for e in rest.json()["entries"]]

        bad = await svc.client.get(f"/v1/participants/{pid}/timeline", headers=STAFF, params={"after": "nonsense"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "after"
