"""The operator's Operations page: every service's figures from its status API, no participant data."""

from __future__ import annotations

import pytest

from shared.testing.browser import assert_accessible
from tests.console.conftest import sign_in
from tests.console.helpers import enrol, new_agency

pytestmark = pytest.mark.e2e


async def test_an_operator_sees_each_services_figures_and_no_participant(stack, page):
    agency = new_agency()
    await enrol(stack, agency, "crs-ops", "Morgan Unseen")
    await sign_in(page, stack, "operator-1", agency, "operator")
    await page.wait_for_url(f"{stack.console}/operations")
    await page.get_by_role("heading", name="Operations").wait_for()
    table = page.locator("table").first
    for service in ("intake", "planning", "monitoring", "notifications"):
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=service))
        text = await row.inner_text()
        assert "Not answering" not in text, text
        assert "yes" in text, text  # each service has a relay leader
    groups = await page.locator("table").nth(1).inner_text()
    assert "waypoint.monitoring" in groups
    content = await page.content()
    assert "Morgan" not in content and "Unseen" not in content
    await assert_accessible(page)
    # An operator opens no participant pages and no caseload.
    await page.goto(f"{stack.console}/caseload")
    assert "Morgan" not in await page.content()


async def test_staff_do_not_get_the_operations_page(stack, page):
    await sign_in(page, stack, "crs-1", new_agency(), "specialist")
    response = await page.goto(f"{stack.console}/operations")
    assert response is not None and response.status in (403, 404)
    assert "Relay leader" not in await page.content()
