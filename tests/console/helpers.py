"""Setting the scene through the services' APIs (faster than clicking), as a specialist would."""

from __future__ import annotations

import time
import uuid

import httpx

from shared.testing.auth import bearer


def new_agency() -> str:
    return f"agency-{uuid.uuid4().hex[:8]}"


def enrol(stack, agency: str, specialist: str | None, name: str) -> str:
    """Enrol someone and wait until monitoring knows them (their check-ins are accepted from then on)."""
    auth = bearer(sub=specialist or "intake-clerk", agency_id=agency)
    r = httpx.post(f"{stack.urls['intake']}/v1/participants", headers=auth,
                   json={"display_name": name, "specialist_id": specialist}, timeout=10)
    assert r.status_code == 201, r.text
    pid = r.json()["participant_id"]
    deadline = time.monotonic() + 60
    while httpx.get(f"{stack.urls['monitoring']}/v1/participants/{pid}/check-in-schedule", headers=auth,
                    timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "monitoring never heard of the enrolment"
        time.sleep(0.3)
    return pid
