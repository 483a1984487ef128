"""A partner agency's incoming referrals in the console: only the consented categories and the
redisclosure notice; accepting enrols the person in the receiving agency; declining says why."""

from __future__ import annotations

import uuid

import httpx
import pytest

from shared.testing.auth import bearer
from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e


async def refer(stack, *, information: list[str]) -> tuple[str, str]:
    """Agency A enrols someone, records their consent to tell agency B, and refers them to B."""
    a, b, specialist = new_agency(), new_agency(), f"crs-{uuid.uuid4().hex[:6]}"
    pid = await enrol(stack, a, specialist, "Jamie Referred")
    async with httpx.AsyncClient(base_url=stack.urls["intake"], timeout=10,
                                 headers=bearer(sub=specialist, agency_id=a)) as intake:
        consent = {
            "disclosing_agency_id": a, "information": information,
            "information_description": "what the person agreed to share with the partner agency",
            "recipients": {"kind": "named_agency", "agency_ids": [b]}, "purposes": ["care_coordination"],
            "right_to_revoke_acknowledged": True, "expiry": {"on": "2099-12-31"},
            "signature": {"signed_by": "Jamie Referred", "method": "electronic", "signed_on": "2026-11-01"},
        }
        r = await intake.post(f"/v1/participants/{pid}/consents", json=consent)
        assert r.status_code == 201, r.text
        r = await intake.post(f"/v1/participants/{pid}/referrals", json={
            "recipient_agency_id": b, "purpose": "care_coordination", "information": information})
        assert r.status_code == 201, r.text
    return a, b


async def test_the_receiving_agency_sees_only_what_was_consented_and_accepts(stack, page):
    a, b = await refer(stack, information=["enrolment", "risk_level"])
    await sign_in(page, stack, "b-spec-1", b, "specialist")
    await page.goto(f"{stack.console}/referrals")
    await page.get_by_role("heading", name="Incoming referrals").wait_for()
    main = await page.locator("main").inner_text()
    assert f"From {a}" in main and "Redisclosure notice" in main
    assert "assessment scores" not in main  # not consented: not shown
    await assert_accessible(page)
    await page.get_by_label("Specialist (optional: else the person waits in the queue)").fill("b-spec-1")
    await page.get_by_role("button", name="Accept referral").click()
    await page.wait_for_url(lambda url: "/participants/" in url)
    assert "Jamie Referred" in await page.locator("main").inner_text()


async def test_declining_gives_a_reason_and_the_referral_leaves_the_waiting_list(stack, page):
    _, b = await refer(stack, information=["risk_level"])
    await sign_in(page, stack, "b-sup-1", b, "supervisor")
    await page.goto(f"{stack.console}/referrals")
    await page.get_by_label("Reason").select_option("no_capacity")
    await page.get_by_role("button", name="Decline referral").click()
    await page.get_by_text("No referrals are waiting.").wait_for()
    assert "No capacity" in await page.locator("main").inner_text()
