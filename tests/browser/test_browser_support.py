"""The browser test support itself: Debian's Chromium through Playwright, and the axe-core check."""

from __future__ import annotations

import pytest

from shared.testing.browser import assert_accessible, axe_violations

ORIGIN = "http://waypoint.test"

ACCESSIBLE = """<!doctype html><html lang="en"><head><title>Fine</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Caseload</h1><button type="button">Sign in</button></main></body></html>"""

# A button with no accessible name and an image without alternative text: both critical in axe.
INACCESSIBLE = """<!doctype html><html lang="en"><head><title>Broken</title></head>
<body><main><h1>Alerts</h1><button type="button" id="nameless"></button>
<img id="bare" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>"""

pytestmark = pytest.mark.unit


async def serve(page, html: str, *, csp: str | None = None) -> None:
    """Answer every request of the page from memory (no server, nothing from the network)."""
    headers = {"content-type": "text/html; charset=utf-8"}
    if csp:
        headers["content-security-policy"] = csp

    async def fulfil(route) -> None:
        await route.fulfill(status=200, headers=headers, body=html)

    await page.route("**/*", fulfil)
    await page.goto(f"{ORIGIN}/")


async def test_desktop_page_runs_in_the_system_chromium(page, browser) -> None:
    await serve(page, ACCESSIBLE)
    assert await page.get_by_role("heading", name="Caseload").is_visible()
    assert page.viewport_size == {"width": 1280, "height": 800}
    assert browser.browser_type.name == "chromium"


async def test_phone_page_has_a_phone_viewport_and_touch(phone_page) -> None:
    await serve(phone_page, ACCESSIBLE)
    assert phone_page.viewport_size == {"width": 390, "height": 844}
    assert await phone_page.evaluate("() => window.innerWidth") == 390
    assert await phone_page.evaluate("() => 'ontouchstart' in window")


async def test_an_accessible_page_passes(page) -> None:
    await serve(page, ACCESSIBLE)
    await assert_accessible(page)


async def test_serious_violations_fail_naming_the_rule_and_the_element(page) -> None:
    await serve(page, INACCESSIBLE)
    with pytest.raises(pytest.fail.Exception) as failure:
        await assert_accessible(page)
    message = str(failure.value)
    assert "button-name (critical)" in message and "#nameless" in message
    assert "image-alt (critical)" in message and "#bare" in message


async def test_axe_runs_even_where_the_page_forbids_scripts(page) -> None:
    await serve(page, INACCESSIBLE, csp="default-src 'none'; script-src 'none'")
    assert {v["id"] for v in await axe_violations(page)} >= {"button-name", "image-alt"}
