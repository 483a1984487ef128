"""Supervisor overview and assignment from the queue; an agency admin's webhook; what another agency
sees when it guesses URLs; CSRF refusal in a real browser."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from shared.testing.auth import bearer
from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e


async def test_supervisor_sees_the_overview_and_assigns_from_the_queue(stack, page):
    agency = new_agency()
    await enrol(stack, agency, None, "Casey Waiting")
    await sign_in(page, stack, "sup-1", agency, "supervisor")
    await page.get_by_role("heading", name="Agency overview").wait_for()
    assert await page.get_by_role("img", name="People by risk level").is_visible()
    assert await page.get_by_text("None: every urgent alert has been acknowledged.").is_visible()
    await assert_accessible(page)
    await page.get_by_role("link", name="Assign them").click()
    await page.get_by_role("heading", name="Assignment queue").wait_for()
    await assert_accessible(page)
    await page.get_by_label("Specialist for Casey Waiting").fill("crs-new")
    await page.get_by_role("button", name="Assign").click()
    await page.get_by_text("Nobody is waiting.").wait_for()
    await page.goto(f"{stack.console}/caseload?specialist=crs-new")
    await page.get_by_role("heading", name="Caseload").wait_for()
    await assert_accessible(page)


async def test_agency_admin_creates_a_webhook_and_sees_its_secret_once(stack, page):
    agency = new_agency()
    await sign_in(page, stack, "admin-1", agency, "agency_admin")
    await page.get_by_role("heading", name="Agency admin").wait_for()
    await assert_accessible(page)
    await page.get_by_label("Endpoint URL").fill("https://partner.invalid/hooks/waypoint")  # resolves nowhere
    await page.get_by_label("Description").fill("EHR bridge")
    await page.get_by_role("button", name="Create subscription").click()
    await page.locator("#f-url-error").wait_for()  # the service's reason, beside the field
    assert await page.get_by_label("Description").input_value() == "EHR bridge"  # nothing typed is lost
    await page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks/waypoint")
    await page.get_by_role("button", name="Create subscription").click()
    secret = await page.locator("#webhook-secret").inner_text()
    assert len(secret) >= 32
    assert await page.get_by_role("cell", name="http://127.0.0.1:9/hooks/waypoint EHR bridge").is_visible()
    await assert_accessible(page)
    await page.goto(f"{stack.console}/admin")
    assert secret not in await page.content()
    await page.get_by_role("button", name="Deactivate").click()
    await page.get_by_role("cell", name="Deactivated").wait_for()
    await page.get_by_label("Supervisor").fill("sup-9")
    await page.get_by_role("button", name="Save staff").click()
    await page.get_by_text("Saved.").wait_for()
    assert await page.get_by_label("Supervisor").input_value() == "sup-9"  # read back from notifications


async def test_another_agency_guessing_urls_sees_nothing(stack, page):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    pid = await enrol(stack, agency, specialist, "Riley Private")
    await sign_in(page, stack, specialist, new_agency(), "supervisor")
    for path in ("", "/timeline", "/plan", "/notes", "/access-log", "/assessments/new", "/check-in"):
        await page.goto(f"{stack.console}/participants/{pid}{path}")
        body = await page.locator("main").inner_text()
        assert "Riley Private" not in body, path
        assert "Riley" not in await page.content(), path
    await page.goto(f"{stack.console}/participants/{pid}")
    await page.get_by_role("heading", name="Not found").wait_for()
    await assert_accessible(page)
    await page.goto(f"{stack.console}/caseload?specialist={specialist}")
    assert "Riley" not in await page.content()


async def test_a_form_posted_without_its_csrf_token_is_refused(stack, page):
    agency = new_agency()
    await sign_in(page, stack, "crs-csrf", agency, "specialist")
    await page.get_by_role("heading", name="Caseload").wait_for()
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(cookies=cookies) as http:
        forged = await http.post(f"{stack.console}/participants/new", data={"display_name": "Forged"})
    assert forged.status_code == 403
    await page.goto(f"{stack.console}/participants/new")
    await page.locator("#main-content input[name=csrf]").evaluate("e => e.value = 'wrong'")
    await page.get_by_label("Name they go by").fill("Forged Too")
    await page.get_by_role("button", name="Enrol").click()
    await page.get_by_role("heading", name="Not allowed").wait_for()
    await page.goto(f"{stack.console}/caseload")
    assert "Forged" not in await page.content()


async def test_consent_then_referral_lands_in_the_disclosure_ledger(stack, page):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    pid = await enrol(stack, agency, specialist, "Taylor Consent")
    await sign_in(page, stack, specialist, agency, "specialist")
    await page.goto(f"{stack.console}/participants/{pid}/consents")
    await page.get_by_role("button", name="Record consent").click()  # nothing filled in: refused, explained
    await page.get_by_role("alert").first.wait_for()
    await page.get_by_label("Disclose to (agency ids, comma separated)").fill("agency-clinic")
    for label in ("ci-assessment_scores", "cp-care_coordination"):
        await page.locator(f"label[for={label}]").click()
    await page.locator("label[for=f-until]").click()
    await page.locator("label[for=f-revoke]").click()
    await page.get_by_label("Signed by").fill("Taylor Consent")
    await page.get_by_role("button", name="Record consent").click()
    await page.get_by_role("cell", name="active (version 1)").wait_for()
    await assert_accessible(page)
    await page.get_by_label("Refer to (agency id)").fill("agency-clinic")
    await page.get_by_label("Purpose").select_option("care_coordination")
    await page.locator("label[for=ri-assessment_scores]").click()
    await page.get_by_role("button", name="Send referral").click()
    await page.get_by_role("cell", name="agency-clinic").last.wait_for()
    # the ledger records the disclosure when the recipient is shown the referral
    async with httpx.AsyncClient(base_url=stack.urls["intake"], timeout=10,
                                 headers=bearer(sub="clinic-1", agency_id="agency-clinic")) as clinic:
        assert (await clinic.get("/v1/referrals/incoming")).status_code == 200
    await page.reload()
    ledger = await page.locator("#ledger-h + table").inner_text()
    assert "care coordination" in ledger and "assessment scores" in ledger
    await page.get_by_role("button", name="Record revocation").click()
    await page.get_by_role("cell", name="revoked (version 1)").wait_for()


async def test_a_caseload_longer_than_one_page_of_names_shows_every_name(stack, page):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    auth = bearer(sub=specialist, agency_id=agency)
    async with httpx.AsyncClient(timeout=30, headers=auth) as http:
        async def one(i: int) -> None:
            r = await http.post(f"{stack.urls['intake']}/v1/participants",
                                json={"display_name": f"Person {i:03d}", "specialist_id": specialist})
            assert r.status_code == 201, r.text

        await asyncio.gather(*(one(i) for i in range(130)))  # intake lists names 100 a page by default
        for _ in range(120):
            ranked = (await http.get(f"{stack.urls['monitoring']}/v1/caseload")).json()["participants"]
            if len(ranked) == 130:
                break
            await asyncio.sleep(0.5)
    await sign_in(page, stack, specialist, agency, "specialist")
    await page.get_by_role("heading", name="Caseload").wait_for()
    assert await page.get_by_role("link", name=re.compile(r"^Person \d{3}$")).count() == 130
    assert "(no name given)" not in await page.content()
