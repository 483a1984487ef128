"""The plan editor in Chromium: every section, item by item (high-risk situations with their coping
strategies, the support network, routine, goals, groups); a refusal lands beside its field with what
was typed kept; "Add another" adds a row without saving."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from shared.testing.auth import bearer
from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e


async def draft_plan(stack, agency: str, specialist: str, pid: str) -> None:
    """A draft plan through planning's API (planning learns of the enrolment from Kafka first)."""
    async with httpx.AsyncClient(timeout=10, headers=bearer(sub=specialist, agency_id=agency)) as http:
        deadline = time.monotonic() + 60
        while True:
            r = await http.post(f"{stack.urls['planning']}/v1/participants/{pid}/plan",
                                json={"sections": {"warning_signs": [{"text": "Skipping meals"}]}})
            if r.status_code == 201:
                return
            assert time.monotonic() < deadline, r.text
            await asyncio.sleep(0.5)


async def test_every_section_of_the_plan_is_edited_item_by_item(stack, page):
    me, agency = f"crs-{uuid.uuid4().hex[:6]}", new_agency()
    pid = await enrol(stack, agency, me, "Kim Planner")
    await draft_plan(stack, agency, me, pid)
    await sign_in(page, stack, me, agency, "specialist")
    await page.goto(f"{stack.console}/participants/{pid}/plan/edit")
    await page.get_by_role("heading", name="Edit the plan").wait_for()
    await assert_accessible(page)

    situation = page.get_by_role("group", name="New high-risk situation")
    await situation.get_by_label("Kind of situation").select_option("social_pressure")
    await situation.get_by_label("What happens").fill("Friday drinks after work")
    await situation.get_by_label("Coping strategies").fill("Leave by six\nCall Ana on the way")
    contact = page.get_by_role("group", name="New contact")
    await contact.get_by_label("Name").fill("Ana")
    await contact.get_by_label("Relationship").select_option("sponsor")
    await contact.get_by_label("Phone").fill("not a number")
    await contact.locator("label", has_text="The agency may contact them").click()  # USWDS styles the label
    await page.get_by_role("group", name="New routine entry").get_by_label("At").fill("07:30")
    await page.get_by_role("group", name="New routine entry").get_by_label("Activity").fill("Walk the dog")
    goal = page.get_by_role("group", name="New goal")
    await goal.get_by_label("Goal").fill("Back at work part-time")
    await goal.get_by_label("Status").select_option("active")
    group = page.get_by_role("group", name="New support group")
    await group.get_by_label("Kind").select_option("smart-recovery")
    await group.get_by_label("When it meets").fill("Tuesdays 7 pm")

    # "Add another contact" saves nothing and keeps every field as typed
    await page.get_by_role("button", name="Add another contact").click()
    await page.get_by_role("group", name="New contact").nth(1).wait_for()  # the form, shown again
    assert await page.get_by_role("group", name="New contact").count() == 2
    assert await page.get_by_role("group", name="New contact").first.get_by_label("Phone").input_value() \
        == "not a number"

    await page.get_by_role("button", name="Save plan").click()  # planning refuses the phone number
    phone_group = page.locator(".usa-form-group--error", has=page.get_by_label("Phone"))
    await phone_group.first.wait_for()
    assert "pattern" in (await phone_group.first.inner_text())
    assert await situation.first.get_by_label("What happens").input_value() == "Friday drinks after work"
    await assert_accessible(page)
    await page.get_by_role("group", name="New contact").first.get_by_label("Phone").fill("+1 555 0100")
    await page.get_by_role("button", name="Save plan").click()

    await page.get_by_role("heading", name="Relapse-prevention plan").wait_for()
    text = await page.locator("main").inner_text()
    for shown in ("Friday drinks after work", "Call Ana on the way", "Ana (sponsor), +1 555 0100",
                  "the agency may contact them", "07:30: Walk the dog", "Back at work part-time (active)",
                  "Tuesdays 7 pm: suggested", "Skipping meals"):
        assert shown in text, shown
    assert await page.get_by_role("link", name="Version 2").is_visible()

    # an item taken out of the plan: "Remove this contact"
    await page.get_by_role("link", name="Edit the plan").click()
    await page.get_by_role("group", name="Contact 1").locator("label", has_text="Remove this contact").click()
    await page.get_by_role("button", name="Save plan").click()
    await page.get_by_role("heading", name="Relapse-prevention plan").wait_for()
    assert await page.get_by_text("Nobody listed yet.").is_visible()
    assert await page.get_by_text("Friday drinks after work").is_visible()  # the rest kept
