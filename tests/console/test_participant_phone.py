"""A participant on a phone (390x844) checks in and presses the beacon; their specialist's open
caseload page shows the urgent alert without a reload."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e


async def test_check_in_and_beacon_reach_the_specialist_live(stack, page, phone_page):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    pid = await enrol(stack, agency, specialist, "Jordan Phone")
    await sign_in(page, stack, specialist, agency, "specialist")
    await page.get_by_role("heading", name="Caseload").wait_for()
    await page.get_by_role("link", name="Jordan Phone").wait_for()

    phone = phone_page
    await sign_in(phone, stack, pid, agency, "participant")
    await phone.get_by_role("heading", name="Today").wait_for()
    await assert_accessible(phone)
    box = await phone.get_by_role("button", name="I need help now").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a big thumb target on a 390 px screen
    await phone.get_by_label("Craving right now, 0 (none) to 10 (strongest)").fill("8")
    await phone.get_by_label("Mood, 1 (very low) to 5 (very good)").fill("1")
    await phone.get_by_label("Private note (only your specialist reads it)").fill("bad night")
    await phone.get_by_role("button", name="Record check-in").click()
    await phone.get_by_text("Check-in recorded. Thank you.").wait_for()
    await assert_accessible(phone)
    await phone.get_by_role("button", name="I need help now").click()
    await phone.get_by_text("Your specialist has been told.").wait_for()

    # the specialist did not reload: htmx brings the urgent alert into the open page
    live = page.locator("#live-alerts").get_by_text(re.compile(r"urgent alerts? waiting for you"))
    await live.first.wait_for(timeout=30_000)
    assert "Jordan Phone" not in await page.locator("#live-alerts").inner_text()  # subjects carry no names
    await assert_accessible(page)


async def test_a_participant_sets_quiet_hours_and_a_wrong_one_is_explained_beside_the_field(stack, phone_page):
    agency = new_agency()
    pid = await enrol(stack, agency, "crs-quiet", "Quinn Quiet")
    await sign_in(phone_page, stack, pid, agency, "participant")
    field = phone_page.get_by_label("Quiet hours (no routine messages)")
    await field.fill("25:00-07:00")
    await phone_page.get_by_role("button", name="Save preferences").click()
    await phone_page.locator("#f-quiet_hours-error").wait_for()
    assert await phone_page.get_by_label("Quiet hours (no routine messages)").get_attribute("aria-invalid") == "true"
    await assert_accessible(phone_page)
    await phone_page.get_by_label("Quiet hours (no routine messages)").fill("22:00-07:00")
    await phone_page.get_by_role("button", name="Save preferences").click()
    await phone_page.get_by_text("quiet hours 22:00-07:00").wait_for()
