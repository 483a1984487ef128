"""The consent form in Chromium: every 42 CFR Part 2 element named on the form, both kinds of
recipient intake accepts, a refusal beside its element with the choices kept, a draft saved to
sign later and then signed."""

from __future__ import annotations

import uuid

import pytest

from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e

ELEMENTS = ("1. Whose records", "2. Who may disclose", "3. What information", "4. To whom", "5. For what purpose",
            "6. The right to revoke", "7. Until when", "8. Signature and date")


async def test_a_general_designation_consent_drafted_then_signed(stack, page):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    pid = await enrol(stack, agency, specialist, "Jo Designation")
    await sign_in(page, stack, specialist, agency, "specialist")
    await page.goto(f"{stack.console}/participants/{pid}/consents")
    form = page.locator("form.wp-consent-form")
    for legend in ELEMENTS:
        assert await form.get_by_role("group", name=legend).is_visible(), legend
    assert "Jo Designation" in await form.get_by_role("group", name="1. Whose records").inner_text()
    assert agency in await form.get_by_role("group", name="2. Who may disclose").inner_text()
    await assert_accessible(page)

    # the general designation is for treatment, payment and operations only: intake refuses the rest
    await page.locator("label[for=rk-treating_providers]").click()
    for label in ("ci-risk_level", "ci-plan", "cp-care_coordination"):
        await page.locator(f"label[for={label}]").click()
    await page.get_by_label("In the person's own words (optional)").fill("how I am doing, and my plan")
    await page.locator("label[for=f-revoke]").click()
    await page.get_by_label("Expires on").fill("2027-12-31")
    await page.get_by_role("button", name="Save as a draft to sign later").click()
    purposes = page.get_by_role("group", name="5. For what purpose")
    await purposes.locator(".usa-error-message").wait_for()
    assert "treatment, payment and operations only" in await purposes.inner_text()
    assert await page.locator("#rk-treating_providers").is_checked()  # nothing chosen is lost
    assert await page.locator("#ci-plan").is_checked()
    await assert_accessible(page)

    await page.locator("label[for=cp-care_coordination]").click()
    await page.locator("label[for=cp-treatment]").click()
    await page.get_by_role("button", name="Save as a draft to sign later").click()
    row = page.get_by_role("row").filter(has_text="draft, not in force")
    await row.wait_for()
    text = await row.inner_text()
    assert "their treating providers and health plans" in text and "how I am doing, and my plan" in text
    assert "Not signed yet" in text and "2027-12-31" in text

    await row.get_by_label("Signed by").fill("Jo Designation")
    await row.get_by_label("How").select_option("wet_ink")
    await row.get_by_role("button", name="Sign").click()
    signed = page.get_by_role("row").filter(has_text="active (version 1)")
    await signed.wait_for()
    assert "Jo Designation" in await signed.inner_text() and "wet ink" in await signed.inner_text()
    await assert_accessible(page)
