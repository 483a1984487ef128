"""Without Chromium, browser tests are skipped on a developer's machine and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

INNER = """
import pytest

pytestmark = pytest.mark.unit


async def test_needs_a_page(page):
    await page.goto("about:blank")
"""


def run_inner(tmp_path, *, ci: bool) -> str:
    """Run a one-test suite using the plugin in a fresh interpreter; its output."""
    (tmp_path / "test_inner.py").write_text(INNER)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["shared.testing.browser"]\n')
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"WAYPOINT_CHROMIUM": str(tmp_path / "no-chromium-here"), **({"CI": "true"} if ci else {})}
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
         "-o", "asyncio_default_fixture_loop_scope=session", "-o", "asyncio_default_test_loop_scope=session",
         "--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    return done.stdout


def test_a_missing_chromium_skips_locally(tmp_path):
    summary = run_inner(tmp_path, ci=False)
    assert "1 skipped" in summary and "Chromium not found" in summary, summary


def test_a_missing_chromium_fails_under_ci(tmp_path):
    summary = run_inner(tmp_path, ci=True)
    assert "1 error" in summary and "CI=true: browser tests are mandatory" in summary, summary
