"""Issue 16 in Chromium, against the real services: a specialist opening the record of someone not
on their caseload gives a reason first (and the supervisor sees it); an agency admin erases a
participant after a plain confirmation, and their texts then read as erased."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from shared.testing.auth import bearer
from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency, reload_until

pytestmark = pytest.mark.e2e


async def test_a_record_off_the_caseload_opens_with_a_reason_the_supervisor_then_sees(stack, page, browser):
    agency = new_agency()
    pid = await enrol(stack, agency, "crs-owner", "Pat Glass")
    await sign_in(page, stack, "crs-cover", agency, "specialist")
    await page.goto(f"{stack.console}/participants/{pid}/timeline")
    await page.get_by_role("heading", name="Give a reason to open this record").wait_for()
    assert "Pat Glass" not in await page.content()  # nothing of the record before the reason
    await assert_accessible(page)
    await page.get_by_role("button", name="Open the record").click()  # nothing given: refused, explained
    await page.get_by_text("Choose why you are opening this record.").wait_for()
    await page.get_by_label("Why").select_option("covering")
    await page.get_by_label("Reason").fill("Covering for crs-owner, away today")
    await page.get_by_role("button", name="Open the record").click()
    await page.get_by_role("heading", name="Timeline").wait_for()  # where they were going
    await page.goto(f"{stack.console}/participants/{pid}")
    await page.get_by_role("heading", name="Pat Glass").wait_for()  # the reason goes with every call about them

    supervisor = await (await browser.new_context()).new_page()
    await sign_in(supervisor, stack, "sup-1", agency, "supervisor")
    await supervisor.goto(f"{stack.console}/overview")
    section = supervisor.locator("section", has=supervisor.get_by_role("heading", name=re.compile("with a reason")))
    await reload_until(supervisor, section.get_by_text("Covering for crs-owner, away today"))
    assert "crs-cover" in await section.inner_text()
    await supervisor.get_by_role("link", name="See who, whose and why").click()
    row = supervisor.get_by_role("row").filter(has_text="Covering for crs-owner, away today")
    await row.first.wait_for()
    text = await row.first.inner_text()
    assert "crs-cover" in text and "Pat Glass" in text and "intake" in text
    await assert_accessible(supervisor)
    await supervisor.context.close()


async def test_an_admin_erases_a_participant_and_their_texts_read_as_erased(stack, page, browser):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(timeout=10, headers=bearer(sub=specialist, agency_id=agency)) as http:
        r = await http.post(f"{stack.urls['intake']}/v1/participants", json={
            "display_name": "Noa Forgotten", "specialist_id": specialist,
            "contact": {"given_name": "Noa", "family_name": "Forgotten", "phone": "+1 555 0199"},
            "support_contacts": [{"name": "Ari Forgotten", "relation": "sibling", "channel": "sms",
                                  "phone": "+1 555 0198", "consent_to_contact": True}]})
        assert r.status_code == 201, r.text
        pid = r.json()["participant_id"]
        for _ in range(120):  # on the caseload once monitoring has heard of them
            if any(p["participant_id"] == pid for p in (await http.get(
                    f"{stack.urls['monitoring']}/v1/caseload")).json()["participants"]):
                break
            await asyncio.sleep(0.5)

    await sign_in(page, stack, "admin-1", agency, "agency_admin")
    await page.goto(f"{stack.console}/admin")
    await page.get_by_label("Participant id").first.wait_for()
    erase = page.locator("section", has=page.get_by_role("heading", name="Erase a participant"))
    await erase.get_by_label("Participant id").fill(pid)
    await erase.get_by_role("button", name="Continue").click()
    await page.get_by_role("heading", name="Erase Noa Forgotten").wait_for()
    assert "It cannot be undone." in await page.locator("main").inner_text()
    await assert_accessible(page)
    await page.get_by_role("button", name="Erase permanently").click()  # no reason, not confirmed: refused
    await page.get_by_text("Confirm that you understand the erasure cannot be undone.").wait_for()
    assert await page.get_by_text("Say why this participant is erased").count() == 1
    await page.get_by_label("Reason for the erasure").fill("The participant's written request of 20 November")
    await page.locator("label[for=f-understood]").click()
    await page.get_by_role("button", name="Erase permanently").click()
    await page.get_by_role("heading", name="Participant erased").wait_for()
    await assert_accessible(page)

    staff = await (await browser.new_context()).new_page()
    await sign_in(staff, stack, specialist, agency, "specialist")
    await staff.goto(f"{stack.console}/participants/{pid}")
    await staff.get_by_role("heading", name="Erased participant").wait_for()
    main = await staff.locator("main").inner_text()
    assert "Forgotten" not in main and "555 01" not in main
    assert "contact details (erased)" in main and "(erased) (sibling)" in main
    assert "nobody can read them again" in main
    await assert_accessible(staff)
    await staff.goto(f"{stack.console}/caseload")
    await staff.get_by_role("link", name=f"Erased participant {pid[:8]}").wait_for()
    await staff.context.close()
