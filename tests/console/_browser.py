"""Fallback browser fixtures while the shared plugin (shared/testing/browser.py) is not on this branch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[2] / "shared" / "testing" / "assets" / "axe-core" / "axe.min.js"
AXE_FALLBACK = Path("/tmp/cnpm/x/axe-core-4.14.1/package/axe.min.js")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=os.environ.get("WAYPOINT_CHROMIUM", "/usr/bin/chromium"),
                                     headless=True, chromium_sandbox=False, args=["--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def assert_accessible(page) -> None:
    script = (AXE if AXE.is_file() else AXE_FALLBACK).read_text()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(script + "\n;undefined")
    result = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} on {[n['target'] for n in v['nodes']][:5]}"
                              for v in bad)
