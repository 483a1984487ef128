"""A specialist in Chromium: enrol, PHQ-9 with item 9 = 1, the urgent alert live, acknowledge,
edit and save the plan, a check-in on the chart; axe-core on every page on the way."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.console.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.e2e


def test_specialist_day(stack, page):
    me, agency = f"crs-{uuid.uuid4().hex[:6]}", f"agency-{uuid.uuid4().hex[:6]}"
    sign_in(page, stack, me, agency, "specialist")
    page.get_by_role("heading", name="Caseload").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name="Enrol a participant").first.click()
    page.get_by_label("Name they go by").fill("Robin Example")
    page.get_by_role("button", name="Enrol").click()
    page.get_by_role("heading", name="Robin Example").wait_for()
    assert_accessible(page)
    pid = page.url.rsplit("/", 1)[-1]

    page.get_by_role("link", name="Record an assessment").click()
    answers = [1, 1, 1, 1, 0, 1, 0, 0, 1]
    for item, value in enumerate(answers):
        label = {0: "Not at all", 1: "Several days"}[value]
        page.locator(f"fieldset:has(legend:text-matches('^{item + 1}\\\\.')) label", has_text=label).click()
    assert_accessible(page)
    page.get_by_role("button", name="Record assessment").click()
    page.get_by_text(re.compile(r"PHQ-9 6, mild")).wait_for()

    # the urgent alert reaches this open page without a reload (htmx polls every 3 s)
    live = page.locator("#live-alerts").get_by_text("Urgent alert:")
    live.first.wait_for(timeout=60_000)
    page.locator("#live-alerts").get_by_role("button", name="Acknowledge").first.click()
    page.wait_for_url("**/alerts")
    page.get_by_role("heading", name="Alerts").wait_for()
    page.wait_for_load_state()
    acknowledged = page.get_by_role("row").filter(has_text="Urgent: a safety concern was raised")
    assert f"by {me}" in acknowledged.inner_text()
    assert_accessible(page)
    page.goto(f"{stack.console}/participants/{pid}")

    # the plan planning drafted after the assessment: edit and save
    for _ in range(60):
        if page.get_by_role("link", name="Open the plan").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    page.get_by_role("link", name="Open the plan").click()
    assert_accessible(page)
    page.get_by_role("link", name="Edit the plan").click()
    page.get_by_label("Warning signs").fill("Skipping meals\nNot sleeping")
    assert_accessible(page)
    page.get_by_role("button", name="Save plan").click()
    page.get_by_role("heading", name="Relapse-prevention plan").wait_for()
    assert page.get_by_text("Not sleeping").is_visible()
    assert page.get_by_role("link", name="Version 2").is_visible()

    page.goto(f"{stack.console}/participants/{pid}/check-in")
    page.get_by_label(re.compile("^Craving")).fill("6")
    page.get_by_label(re.compile("^Mood")).fill("2")
    page.locator("label", has_text="Not sleeping").click()
    assert page.get_by_label("Not sleeping").is_checked()
    assert_accessible(page)
    page.get_by_role("button", name="Record check-in").click()
    for _ in range(30):
        if page.locator("svg.wp-chart circle").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    assert page.locator("svg.wp-chart circle").count() == 1
    assert_accessible(page)
    page.goto(f"{stack.console}/participants/{pid}/timeline")
    page.get_by_role("heading", name="Timeline").wait_for()
    assert_accessible(page)
