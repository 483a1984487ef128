"""Each service's interactive API page (/docs) works offline: Swagger UI is served by the service
itself, Chromium shows the operations, and no request leaves the service's own origin."""

from __future__ import annotations

from importlib import import_module

import pytest

from shared.settings import ServiceSettings
from shared.testing.http_server import http_test_port, serving

pytestmark = pytest.mark.integration

# (service, port offset in this suite's HTTP range, an operation its page must list); +10..+14 are
# the console tests' stack, +31..+36 the development-tools e2e, +20/+21 the mailbox tests.
SERVICES = [
    ("intake", 50, "/v1/participants"),
    ("planning", 51, "/v1/participants/{participant_id}/plan"),
    ("monitoring", 52, "/v1/caseload"),
    ("notifications", 53, "/v1/notifications"),
]


def docs_only_app(service: str):
    """The service's real app; /docs and /openapi.json need no database, so no lifespan runs."""
    settings = ServiceSettings(service=service, database_url="postgresql://unused/none", log_json=False)
    return import_module(f"services.{service}.entrypoints.app").create_app(settings=settings)


@pytest.mark.parametrize(("service", "offset", "operation"), SERVICES, ids=[s[0] for s in SERVICES])
async def test_docs_page_lists_the_operations_with_nothing_from_a_cdn(page, service, offset, operation) -> None:
    async with serving(docs_only_app(service), http_test_port(offset), lifespan="off") as origin:
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))

        await page.goto(f"{origin}/docs")

        await page.locator(".opblock").first.wait_for()
        paths = await page.locator(".opblock-summary-path").all_inner_texts()
        assert any(p.replace("\u200b", "") == operation for p in paths), paths
        assert await page.get_by_role("heading", name=f"Waypoint {service}").count() >= 1
        foreign = [url for url in requested if not url.startswith(origin) and not url.startswith("data:")]
        assert foreign == []


async def test_redoc_is_not_offered_and_the_assets_are_served(page) -> None:
    async with serving(docs_only_app("intake"), http_test_port(54), lifespan="off") as origin:
        redoc = await page.request.get(f"{origin}/redoc")
        assert redoc.status == 404
        script = await page.request.get(f"{origin}/docs/assets/swagger-ui-bundle.js")
        assert script.ok and "javascript" in script.headers["content-type"]
