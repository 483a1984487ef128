from pathlib import Path

import pytest

from shared.catalogue_export import asyncapi, render

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3] / "docs" / "catalogue"


def test_the_asyncapi_document_lists_every_service_topic():
    doc = asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {"waypoint.intake.v1", "waypoint.planning.v1", "waypoint.notifications.v1",
            "waypoint.agency.{agency_id}.v1", "/v1/events"} <= addresses


def test_the_published_catalogue_matches_the_code():
    """Run `waypoint catalogue` after changing an event; this fails until the docs are regenerated."""
    expected = render()
    on_disk = {str(p.relative_to(ROOT)): p.read_text() for p in ROOT.rglob("*") if p.is_file()}
    assert set(on_disk) == set(expected), "run `waypoint catalogue`"
    stale = [name for name, content in expected.items() if on_disk[name] != content]
    assert not stale, f"stale catalogue files (run `waypoint catalogue`): {stale[:5]}"
