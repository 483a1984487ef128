"""The console signs in through the real identity provider: Keycloak's `waypoint` realm, the
authorization code flow with PKCE, in Chromium. The console runs as in production (no development
sign-in); agency and roles come from Keycloak's access token."""

from __future__ import annotations

import re

import httpx
import pytest

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.testing.browser import assert_accessible
from shared.testing.http_server import http_test_port, serving

pytestmark = pytest.mark.e2e


async def allow_console_at(keycloak, console_url: str) -> None:
    """The realm lets the console come back to :8000 only; this suite's console runs on its own port,
    so the test adds it to the client's redirect URIs through the admin API (as an admin would)."""
    async with httpx.AsyncClient(base_url=keycloak.url, timeout=30) as kc:
        token = await kc.post("/realms/master/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"})
        token.raise_for_status()
        admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
        found = await kc.get("/admin/realms/waypoint/clients", params={"clientId": "waypoint-console"}, headers=admin)
        client = found.raise_for_status().json()[0]
        client["redirectUris"] = sorted({*client.get("redirectUris", []), f"{console_url}/*"})
        (await kc.put(f"/admin/realms/waypoint/clients/{client['id']}", json=client, headers=admin)).raise_for_status()


def production_console(keycloak, port: int) -> ConsoleSettings:
    closed = http_test_port(79)  # no service answers there: the pages name them as down, which is fine here
    return ConsoleSettings(
        waypoint_env="production", console_port=port, session_secret="k" * 43,
        oidc_issuer=keycloak.issuer, oidc_client_id="waypoint-console",
        intake_url=f"http://127.0.0.1:{closed}", planning_url=f"http://127.0.0.1:{closed}",
        monitoring_url=f"http://127.0.0.1:{closed}", notifications_url=f"http://127.0.0.1:{closed}",
    )


async def test_a_specialist_signs_in_through_keycloak_with_pkce_and_gets_the_agency_from_the_token(keycloak, page):
    port = http_test_port(75)
    url = f"http://127.0.0.1:{port}"
    await allow_console_at(keycloak, url)
    async with serving(create_app(production_console(keycloak, port)), port, lifespan="off"):
        await page.goto(f"{url}/")
        # Sent to Keycloak with a PKCE challenge, never to a development form.
        await page.wait_for_url(re.compile(re.escape(keycloak.url) + r"/realms/waypoint/protocol/openid-connect/auth"))
        assert "code_challenge_method=S256" in page.url and "code_challenge=" in page.url
        await page.fill("#username", "specialist-north")
        await page.fill("#password", "specialist-north-password")
        await page.click("#kc-login")
        await page.wait_for_url(re.compile(re.escape(url) + r"/caseload"))
        header = await page.locator("header").inner_text()
        assert "agency-north" in header and "specialist" in header.lower()
        await assert_accessible(page)

        # The session cookie is the console's own, encrypted: no token readable in it.
        cookies = {c["name"]: c for c in await page.context.cookies(url)}
        session = cookies["waypoint_session"]
        assert session["httpOnly"] and session["sameSite"] == "Lax"
        assert "eyJ" not in session["value"]  # no JWT in clear

        # Production has no development sign-in.
        refused = await page.request.post(f"{url}/sign-in", form={"user": "x", "agency": "agency-north",
                                                                   "role": "supervisor", "csrf": "x"})
        assert refused.status == 404


async def test_a_wrong_password_stays_at_keycloak_and_opens_no_session(keycloak, page):
    port = http_test_port(76)
    url = f"http://127.0.0.1:{port}"
    await allow_console_at(keycloak, url)
    async with serving(create_app(production_console(keycloak, port)), port, lifespan="off"):
        await page.goto(f"{url}/caseload")
        await page.wait_for_url(re.compile(re.escape(keycloak.url)))
        await page.fill("#username", "specialist-north")
        await page.fill("#password", "not-the-password")
        await page.click("#kc-login")
        await page.wait_for_load_state()
        assert page.url.startswith(keycloak.url)
        assert "waypoint_session" not in {c["name"] for c in await page.context.cookies(url)}
