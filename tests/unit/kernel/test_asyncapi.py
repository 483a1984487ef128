"""The AsyncAPI document: one message per event, validated by the official parser (@asyncapi/parser)."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from shared.catalogue_export import asyncapi, events_by_service

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
TOOL = ROOT / "tools" / "asyncapi"


@pytest.fixture(scope="module")
def parser() -> Path:
    """The parser installed from tools/asyncapi's lockfile (`make install` does it; so does this)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed to validate the AsyncAPI document (apt-get install nodejs npm)"
    if not (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOL, check=True)
    return TOOL / "validate.mjs"


@pytest.fixture(scope="module")
def doc() -> dict:
    return asyncapi()


def parse(parser: Path, document: dict, tmp_path: Path) -> tuple[int, dict]:
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document))
    done = subprocess.run(["node", str(parser), str(path)], capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def published():
    return [cls for events in events_by_service().values() for cls in events]


def test_the_official_parser_accepts_the_document_with_every_event_as_its_own_message(parser, tmp_path):
    code, report = parse(parser, json.loads((ROOT / "docs/catalogue/asyncapi.json").read_text()), tmp_path)
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert code == 0 and report["parsed"] and not errors, errors
    types = {cls.type_name() for cls in published()}
    assert types <= set(report["messages"])
    assert {f"feed.{t}" for t in types} <= set(report["messages"])
    assert {"waypoint.agency.{agency_id}.v1", "/v1/events", "waypoint.intake.v1", "waypoint.planning.v1",
            "waypoint.monitoring.v1", "waypoint.notifications.v1"} <= set(report["channels"])


def test_the_parser_check_fails_on_a_broken_document(parser, tmp_path, doc):
    """Proof that the check above can fail: a message reference to nowhere is an error."""
    broken = copy.deepcopy(doc)
    broken["channels"]["intake"]["messages"]["ParticipantEnrolled"] = {"$ref": "#/components/messages/Nope"}
    code, report = parse(parser, broken, tmp_path)
    assert code == 1
    assert not report["parsed"] or any(d["severity"] == "error" for d in report["diagnostics"])


@pytest.mark.parametrize("cls", published(), ids=lambda c: c.type_name())
def test_each_message_fixes_its_type_and_has_a_valid_example(cls, doc):
    message = doc["components"]["messages"][cls.type_name()]
    assert message["name"] == cls.__name__
    assert message["headers"]["properties"]["ce_type"]["const"] == cls.type_name()
    assert message["correlationId"]["location"] == "$message.header#/ce_correlationid"
    assert "ce_correlationid" in message["headers"]["required"]
    (example,) = message["examples"]
    jsonschema.validate(example["headers"], message["headers"])
    jsonschema.validate(example["payload"], message["payload"])
    cls.model_validate(example["payload"])
    feed = doc["components"]["messages"][f"feed.{cls.type_name()}"]
    (feed_example,) = feed["examples"]
    jsonschema.validate(feed_example["payload"], feed["payload"])
    assert feed_example["payload"]["type"] == cls.type_name()


def test_an_example_of_another_type_is_refused_by_the_headers_schema(doc):
    messages = doc["components"]["messages"]
    enrolled = messages["waypoint.intake.ParticipantEnrolled.v1"]
    other = messages["waypoint.intake.ConsentGranted.v1"]["examples"][0]["headers"]
    with pytest.raises(jsonschema.ValidationError, match=r"ce_type|const|was expected"):
        jsonschema.validate(other, enrolled["headers"])
