"""Erasure reaches notifications: a participant's own e-mail address (their preferences) is sealed
under their data key; on ``ParticipantErased`` notifications destroys its key and the address
reads as erased, while the channels and quiet hours stay."""

import uuid

import pytest
from erasure_helpers import Person, Staff, data_key, found_in_database

from shared.testing.kafka import eventually

pytestmark = pytest.mark.integration


async def test_after_erasure_notifications_returns_no_address(er_intake, er_notifications):
    agency = f"agency-{uuid.uuid4().hex[:8]}"
    person = Person()
    intake = Staff(er_intake.client, agency, "spec-1", ("specialist",))
    admin = Staff(er_intake.client, agency, "admin-1", ("agency_admin",))
    notifications = Staff(er_notifications.client, agency, "spec-1", ("specialist",))
    pid = (await intake.post("/v1/participants", person.enrolment("spec-1"))).json()["participant_id"]

    async def set_preferences():  # staff may, once the enrolment has reached notifications' directory
        r = await notifications.put(f"/v1/recipients/{pid}/preferences",
                                    {"email": person.email, "channels": ["email"], "quiet_hours": "22:00-07:00"})
        # and the specialist's assignment, which opens the record to them (minimum necessary)
        shown = await notifications.get(f"/v1/recipients/{pid}/preferences")
        return r.status_code == 200 and shown.status_code == 200

    await eventually(set_preferences, timeout=60, interval=0.5, message="the enrolment to reach notifications")
    shown = (await notifications.get(f"/v1/recipients/{pid}/preferences")).json()
    assert shown["email"] == person.email and "erased" not in shown
    assert await found_in_database(er_notifications.dsn, person.texts()) == {}

    assert (await admin.post(f"/v1/participants/{pid}/erasure", {"reason": "asked"})).status_code == 200

    async def shredded():
        key = await data_key(er_notifications.dsn, pid)
        return key is not None and key["wrapped_key"] is None

    await eventually(shredded, timeout=60, message="notifications to destroy its key")
    shown = (await notifications.get(f"/v1/recipients/{pid}/preferences")).json()
    assert shown["email"] is None and shown["erased"] is True and shown["erased_at"]
    assert shown["channels"] == ["email"] and shown["quiet_hours"] == "22:00-07:00"
    assert await found_in_database(er_notifications.dsn, person.texts()) == {}
