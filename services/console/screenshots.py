"""``python -m services.console.screenshots``: PNGs of the console's main pages, from the real pages.

With ``--own-stack`` it starts its own Kafka, PostgreSQL, four services and console (state under
``.waypoint/screenshots``, ports from ``--base``), seeds a small agency through the APIs
(:mod:`services.console.demo_data`) and stops everything afterwards; without it, it uses what
``make up`` runs. Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from playwright.async_api import Page, ViewportSize, async_playwright

from services.console.demo_data import AGENCY, SPECIALIST, Demo, seed

OUT = Path(__file__).resolve().parents[2] / "docs" / "console"
DESKTOP, PHONE = ViewportSize(width=1280, height=900), ViewportSize(width=390, height=844)


async def sign_in(page: Page, console: str, user: str, role: str) -> None:
    await page.goto(f"{console}/sign-in")
    await page.get_by_label("User").fill(user)
    await page.get_by_label("Agency").fill(AGENCY)
    await page.get_by_label("Role").select_option(role)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/sign-in" not in url)


async def shoot(page: Page, url: str, name: str, full: bool = True) -> None:
    await page.goto(url)
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(3500 if "live" not in name else 0)  # the live alert strip has polled once
    await page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print(f"wrote docs/console/{name}.png")


async def capture(console: str, demo: Demo) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    alex = demo.participants["Alex Rivera"]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=os.environ.get("WAYPOINT_CHROMIUM", "/usr/bin/chromium"),
                                          chromium_sandbox=False, args=["--disable-dev-shm-usage"])
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await shoot(page, f"{console}/sign-in", "sign-in", full=False)
        await sign_in(page, console, SPECIALIST, "specialist")
        await shoot(page, f"{console}/caseload", "caseload")
        await shoot(page, f"{console}/participants/{alex}", "participant")
        await shoot(page, f"{console}/participants/{alex}/assessments/new?instrument=phq9", "assessment-phq9")
        await shoot(page, f"{console}/participants/{alex}/plan", "plan")
        await shoot(page, f"{console}/participants/{alex}/plan/edit", "plan-edit")
        await shoot(page, f"{console}/participants/{alex}/timeline", "timeline")
        await shoot(page, f"{console}/participants/{alex}/consents", "consents")
        await shoot(page, f"{console}/alerts", "alerts")
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(page, console, "specialist-2", "specialist")  # Alex is not on their caseload
        await shoot(page, f"{console}/participants/{alex}", "break-the-glass", full=False)
        if await page.get_by_label("Why").count():  # services that hold specialists to their caseload
            await page.get_by_label("Why").select_option("covering")
            await page.get_by_label("Reason").fill("Covering for specialist-1, who is away today")
            await page.get_by_role("button", name="Open the record").click()
            await page.wait_for_load_state("networkidle")
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(page, console, "supervisor-1", "supervisor")
        await shoot(page, f"{console}/overview", "overview")
        await shoot(page, f"{console}/queue", "queue")
        await shoot(page, f"{console}/flagged-accesses", "flagged-accesses")
        page = await (await browser.new_context(viewport=DESKTOP)).new_page()
        await sign_in(page, console, "admin-1", "agency_admin")
        await shoot(page, f"{console}/admin", "admin")
        await shoot(page, f"{console}/participants/{demo.participants['Riley Chen']}/erasure", "erasure")
        phone = await (await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                                 device_scale_factor=2)).new_page()
        await sign_in(phone, console, alex, "participant")
        await shoot(phone, f"{console}/me", "participant-phone", full=False)
        staff_phone = await (await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                                       device_scale_factor=2)).new_page()
        await sign_in(staff_phone, console, SPECIALIST, "specialist")
        await shoot(staff_phone, f"{console}/caseload", "caseload-phone", full=False)
        await shoot(staff_phone, f"{console}/participants/{alex}/plan/edit", "plan-edit-phone", full=False)
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--own-stack", action="store_true", help="start (and stop) a stack of its own")
    parser.add_argument("--base", type=int, default=18900, help="with --own-stack: console on this port, "
                        "services base+1..4, Kafka base+7 (and +8), PostgreSQL base+9")
    args = parser.parse_args()
    if not args.own_stack:
        urls = {"console": "http://127.0.0.1:8000", "intake": "http://127.0.0.1:8001",
                "planning": "http://127.0.0.1:8002", "monitoring": "http://127.0.0.1:8003",
                "notifications": "http://127.0.0.1:8004"}
        asyncio.run(_run(urls))
        return
    from services.console.stack import own_stack

    # the demo webhook points at this machine (webhooks may reach only public addresses otherwise)
    with own_stack(args.base, "screenshots", NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8") as urls:
        asyncio.run(_run(urls))


async def _run(urls: dict[str, str]) -> None:
    demo = await seed(urls)
    await asyncio.sleep(3)  # the last events reach monitoring's and notifications' views
    await capture(urls["console"], demo)


if __name__ == "__main__":
    main()
