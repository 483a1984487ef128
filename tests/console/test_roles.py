"""Supervisor overview and assignment from the queue; an agency admin's webhook; what another agency
sees when it guesses URLs; CSRF refusal in a real browser."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.console.conftest import assert_accessible, sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e


def test_supervisor_sees_the_overview_and_assigns_from_the_queue(stack, page):
    agency = new_agency()
    enrol(stack, agency, None, "Casey Waiting")
    sign_in(page, stack, "sup-1", agency, "supervisor")
    page.get_by_role("heading", name="Agency overview").wait_for()
    assert page.get_by_role("img", name="People by risk level").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Assign them").click()
    page.get_by_role("heading", name="Assignment queue").wait_for()
    assert_accessible(page)
    page.get_by_label("Specialist for Casey Waiting").fill("crs-new")
    page.get_by_role("button", name="Assign").click()
    page.get_by_text("Nobody is waiting.").wait_for()
    page.goto(f"{stack.console}/caseload?specialist=crs-new")
    page.get_by_role("heading", name="Caseload").wait_for()
    assert_accessible(page)


def test_agency_admin_creates_a_webhook_and_sees_its_secret_once(stack, page):
    agency = new_agency()
    sign_in(page, stack, "admin-1", agency, "agency_admin")
    page.get_by_role("heading", name="Agency admin").wait_for()
    assert_accessible(page)
    page.get_by_label("Endpoint URL").fill("https://partner.example/hooks/waypoint")
    page.get_by_label("Description").fill("EHR bridge")
    page.get_by_role("button", name="Create subscription").click()
    secret = page.locator("#webhook-secret").inner_text()
    assert len(secret) >= 32
    assert page.get_by_role("cell", name="https://partner.example/hooks/waypoint EHR bridge").is_visible()
    assert_accessible(page)
    page.goto(f"{stack.console}/admin")
    assert secret not in page.content()
    page.get_by_role("button", name="Deactivate").click()
    page.get_by_role("cell", name="Deactivated").wait_for()


def test_another_agency_guessing_urls_sees_nothing(stack, page):
    agency, specialist = new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    pid = enrol(stack, agency, specialist, "Riley Private")
    sign_in(page, stack, specialist, new_agency(), "supervisor")
    for path in ("", "/timeline", "/plan", "/notes", "/access-log", "/assessments/new", "/check-in"):
        page.goto(f"{stack.console}/participants/{pid}{path}")
        body = page.locator("main").inner_text()
        assert "Riley Private" not in body, path
        assert "Riley" not in page.content(), path
    page.goto(f"{stack.console}/participants/{pid}")
    page.get_by_role("heading", name="Not found").wait_for()
    assert_accessible(page)
    page.goto(f"{stack.console}/caseload?specialist={specialist}")
    assert "Riley" not in page.content()


def test_a_form_posted_without_its_csrf_token_is_refused(stack, page):
    agency = new_agency()
    sign_in(page, stack, "crs-csrf", agency, "specialist")
    page.get_by_role("heading", name="Caseload").wait_for()
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    forged = httpx.post(f"{stack.console}/participants/new", cookies=cookies, data={"display_name": "Forged"},
                        follow_redirects=False)
    assert forged.status_code == 403
    page.goto(f"{stack.console}/participants/new")
    page.locator("#main-content input[name=csrf]").evaluate("e => e.value = 'wrong'")
    page.get_by_label("Name they go by").fill("Forged Too")
    page.get_by_role("button", name="Enrol").click()
    page.get_by_role("heading", name="Not allowed").wait_for()
    page.goto(f"{stack.console}/caseload")
    assert "Forged" not in page.content()
