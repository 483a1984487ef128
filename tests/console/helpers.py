"""Setting the scene through the services' APIs (faster than clicking), as a specialist would."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from shared.testing.auth import bearer


def new_agency() -> str:
    return f"agency-{uuid.uuid4().hex[:8]}"


async def enrol(stack, agency: str, specialist: str | None, name: str) -> str:
    """Enrol someone and wait until monitoring knows them (their check-ins are accepted from then on)."""
    auth = bearer(sub=specialist or "intake-clerk", agency_id=agency)
    # a supervisor waits for monitoring: someone waiting for a specialist is on nobody's caseload
    watcher = bearer(sub="supervisor-watch", agency_id=agency, roles=("supervisor",))
    async with httpx.AsyncClient(timeout=10, headers=auth) as http:
        r = await http.post(f"{stack.urls['intake']}/v1/participants",
                            json={"display_name": name, "specialist_id": specialist})
        assert r.status_code == 201, r.text
        pid = r.json()["participant_id"]
        deadline = time.monotonic() + 60
        schedule = f"{stack.urls['monitoring']}/v1/participants/{pid}/check-in-schedule"
        while (await http.get(schedule, headers=watcher)).status_code != 200:
            assert time.monotonic() < deadline, "monitoring never heard of the enrolment"
            await asyncio.sleep(0.3)
    return pid


async def reload_until(page, locator, tries: int = 60) -> None:
    """Reload until ``locator`` shows (what the services build from Kafka arrives a little later)."""
    for _ in range(tries):
        if await locator.count():
            return
        await asyncio.sleep(1)
        await page.reload()
    raise AssertionError(f"{locator} never appeared on {page.url}")
