"""Pytest plugin for browser tests: Debian's Chromium driven by Playwright, and axe-core checks.

Registered from ``tests/conftest.py`` (``pytest_plugins``). The fixtures use Playwright's *async*
API on the pytest-asyncio session loop, like every other test here: in-process services (uvicorn
apps, consumers) keep running while a browser test awaits, and Playwright's sync API (what
pytest-playwright's own fixtures use) would leave a loop marked running that breaks every async
test after it. These fixtures replace pytest-playwright's ``browser`` and ``page``; its command
line options ``--headed`` and ``--slowmo`` still apply. Tests are ``async def``:

- ``browser`` (session): the system Chromium at ``/usr/bin/chromium`` (``WAYPOINT_CHROMIUM`` to
  override), headless unless ``--headed``. Playwright's own browser download is never used (it
  cannot work on these machines). ``make test`` installs Chromium with apt when it is missing;
  if it is still missing the browser tests are skipped locally and fail under ``CI=true``.
- ``page`` (function): a desktop page (1280x800) in a fresh context.
- ``phone_page`` (function): a phone page (390x844, touch, mobile) in a fresh context.
- :func:`assert_accessible`: runs the vendored axe-core on a page and fails on serious or
  critical violations, naming each rule and the elements it found.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

#: axe-core as vendored from its npm package (``make vendor-assets``), with its licence beside it.
AXE_PATH = Path(__file__).resolve().parent / "assets" / "axe-core" / "axe.min.js"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
DESKTOP_VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
#: axe impact levels that fail a page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str | None:
    """The Chromium executable to drive, or ``None`` when it is not installed."""
    configured = os.environ.get("WAYPOINT_CHROMIUM", DEFAULT_CHROMIUM)
    if Path(configured).is_file() and os.access(configured, os.X_OK):
        return configured
    return shutil.which(configured)


@pytest.fixture(scope="session")
def browser_type_launch_args(pytestconfig: pytest.Config) -> dict[str, Any]:
    """Launch options for the system Chromium (replaces pytest-playwright's fixture of this name)."""
    executable = chromium_path()
    if executable is None:
        message = (
            f"Chromium not found at {os.environ.get('WAYPOINT_CHROMIUM', DEFAULT_CHROMIUM)}: "
            "`make test` installs it (apt-get install -y chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: browser tests are mandatory. {message}", pytrace=False)
        pytest.skip(message)
    args: dict[str, Any] = {
        "executable_path": executable,
        "headless": not pytestconfig.getoption("--headed"),
        # Root in a container has no user namespace for Chromium's sandbox.
        "chromium_sandbox": False,
        "args": ["--disable-dev-shm-usage"],
    }
    slowmo = pytestconfig.getoption("--slowmo")
    if slowmo:
        args["slow_mo"] = slowmo
    return args


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(browser_type_launch_args: dict[str, Any]) -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session (Playwright's async API, on the session's loop)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(**browser_type_launch_args)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A desktop-sized page (1280x800) in its own browser context (own cookies)."""
    context = await browser.new_context(viewport=DESKTOP_VIEWPORT)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def phone_page(browser: Browser) -> AsyncIterator[Page]:
    """A phone-sized page (390x844, touch) in its own browser context (own cookies)."""
    context = await browser.new_context(
        viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def axe_violations(page: Page, *, impacts: frozenset[str] = BLOCKING_IMPACTS) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; the violations whose impact is in ``impacts``."""
    if not AXE_PATH.is_file():
        raise FileNotFoundError(f"axe-core is not vendored at {AXE_PATH}: run `make vendor-assets`")
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: a page's Content-Security-Policy cannot block it.
        await page.evaluate(AXE_PATH.read_text(encoding="utf-8") + "\n;undefined")
    result = await page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v.get("impact") in impacts]


def format_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: rule id, impact, help text and the elements' selectors."""
    lines = []
    for violation in violations:
        targets = [", ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])]
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')}"
            f" [{violation.get('helpUrl', '')}]\n    on: " + "; ".join(targets[:10])
            + (f" (+{len(targets) - 10} more)" if len(targets) > 10 else "")
        )
    return "\n".join(lines)


async def assert_accessible(page: Page, *, impacts: frozenset[str] = BLOCKING_IMPACTS) -> None:
    """Fail when axe-core finds violations of ``impacts`` (serious or critical) on the page
    (``await assert_accessible(page)``)."""
    violations = await axe_violations(page, impacts=impacts)
    if violations:
        pytest.fail(
            f"{len(violations)} accessibility violation(s) on {page.url}:\n{format_violations(violations)}",
            pytrace=False,
        )
