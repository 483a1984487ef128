"""A specialist in Chromium: enrol, PHQ-9 with item 9 = 1, the urgent alert live, acknowledge,
edit and save the plan, a check-in on the chart; axe-core on every page on the way."""

from __future__ import annotations

import re
import uuid

import pytest

from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import reload_until

pytestmark = pytest.mark.e2e


async def test_specialist_day(stack, page):
    me, agency = f"crs-{uuid.uuid4().hex[:6]}", f"agency-{uuid.uuid4().hex[:6]}"
    await sign_in(page, stack, me, agency, "specialist")
    await page.get_by_role("heading", name="Caseload").wait_for()
    await assert_accessible(page)
    await page.get_by_role("link", name="Enrol a participant").first.click()
    await page.get_by_label("Name they go by").fill("Robin Example")
    await page.get_by_role("button", name="Enrol").click()
    await page.get_by_role("heading", name="Robin Example").wait_for()
    await assert_accessible(page)
    pid = page.url.rsplit("/", 1)[-1]

    await page.get_by_role("link", name="Record an assessment").click()
    await page.get_by_role("button", name="Record assessment").click()  # nothing answered: every item named
    assert await page.get_by_text("Choose an answer").count() == 9
    answers = [1, 1, 1, 1, 0, 1, 0, 0, 1]  # item 9 (thoughts of self-harm) = 1
    for item, value in enumerate(answers):
        label = {0: "Not at all", 1: "Several days"}[value]
        await page.locator(f"fieldset:has(legend:text-matches('^{item + 1}\\\\.')) label", has_text=label).click()
    await assert_accessible(page)
    await page.get_by_role("button", name="Record assessment").click()
    await page.get_by_text(re.compile(r"PHQ-9 6, mild")).wait_for()

    # the urgent alert reaches this open page without a reload (htmx polls every 3 s)
    live = page.locator("#live-alerts").get_by_text(re.compile(r"urgent alerts? waiting for you"))
    await live.first.wait_for(timeout=60_000)
    await page.locator("#live-alerts").get_by_role("button", name="Acknowledge").first.click()
    await page.wait_for_url("**/alerts")
    await page.get_by_role("heading", name="Alerts").wait_for()
    acknowledged = page.get_by_role("row").filter(has_text="Urgent: a safety concern was raised")
    assert f"by {me}" in await acknowledged.inner_text()
    await assert_accessible(page)

    # the plan planning drafted after the assessment: edit and save (If-Match: the version shown)
    await page.goto(f"{stack.console}/participants/{pid}")
    await reload_until(page, page.get_by_role("link", name="Open the plan"))
    await page.get_by_role("link", name="Open the plan").click()
    await page.get_by_role("heading", name="Relapse-prevention plan").wait_for()
    await assert_accessible(page)
    await page.get_by_role("link", name="Edit the plan").click()
    await page.get_by_label("Warning signs").fill("Skipping meals\nNot sleeping")
    await assert_accessible(page)
    await page.get_by_role("button", name="Save plan").click()
    await page.get_by_role("heading", name="Relapse-prevention plan").wait_for()
    assert await page.get_by_text("Not sleeping").is_visible()
    assert await page.get_by_role("link", name="Version 2").is_visible()

    await page.goto(f"{stack.console}/participants/{pid}/check-in")
    await page.get_by_label(re.compile("^Craving")).fill("6")
    await page.get_by_label(re.compile("^Mood")).fill("2")
    await page.locator("label", has_text="Not sleeping").click()
    assert await page.get_by_label("Not sleeping").is_checked()
    await assert_accessible(page)
    await page.get_by_role("button", name="Record check-in").click()
    await reload_until(page, page.locator("svg.wp-chart circle"))
    assert await page.locator("svg.wp-chart circle").count() == 1
    await assert_accessible(page)
    await page.goto(f"{stack.console}/participants/{pid}/timeline")
    await page.get_by_role("heading", name="Timeline").wait_for()
    await assert_accessible(page)
    await page.get_by_label("Service").select_option("planning")
    await page.get_by_role("button", name="Show").click()
    await page.wait_for_url("**service=planning**")
    lines = await page.locator("main ol li").all_inner_texts()
    assert lines and all("· planning" in line for line in lines)


async def test_a_stale_plan_edit_shows_the_conflict_and_keeps_what_was_typed(stack, page, browser):
    me, agency = f"crs-{uuid.uuid4().hex[:6]}", f"agency-{uuid.uuid4().hex[:6]}"
    await sign_in(page, stack, me, agency, "specialist")
    await page.goto(f"{stack.console}/participants/new")
    await page.get_by_label("Name they go by").fill("Sam Conflict")
    await page.get_by_role("button", name="Enrol").click()
    await page.get_by_role("heading", name="Sam Conflict").wait_for()
    pid = page.url.rsplit("/", 1)[-1]
    await page.goto(f"{stack.console}/participants/{pid}/assessments/new?instrument=gad7")
    for item in range(7):
        item_labels = page.locator(f"fieldset:has(legend:text-matches('^{item + 1}\\\\.')) label")
        await item_labels.filter(has_text="Not at all").click()
    await page.get_by_role("button", name="Record assessment").click()
    await page.get_by_text("GAD-7 0, minimal").wait_for()
    await reload_until(page, page.get_by_role("link", name="Open the plan"))
    await page.goto(f"{stack.console}/participants/{pid}/plan/edit")
    await page.get_by_label("Warning signs").fill("Mine: staying in bed")

    colleague = await (await browser.new_context()).new_page()
    await sign_in(colleague, stack, "crs-colleague", agency, "supervisor")
    await colleague.goto(f"{stack.console}/participants/{pid}/plan/edit")
    await colleague.get_by_label("Warning signs").fill("Theirs: isolating")
    await colleague.get_by_role("button", name="Save plan").click()
    await colleague.get_by_role("heading", name="Relapse-prevention plan").wait_for()

    await page.get_by_role("button", name="Save plan").click()
    await page.get_by_role("heading", name="Someone else saved the plan first").wait_for()
    assert await page.get_by_label("Warning signs").input_value() == "Mine: staying in bed"
    await assert_accessible(page)
    await page.get_by_role("button", name="Save plan").click()  # saving again, knowingly, replaces theirs
    await page.get_by_role("heading", name="Relapse-prevention plan").wait_for()
    assert await page.get_by_text("Mine: staying in bed").is_visible()
    await colleague.context.close()
