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
    found = (shutil.which(name) or str(TOOLS / name)) if name == "promtool" else str(TOOLS / name)
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


# --- Helm chart -------------------------------------------------------------------------------

CHART = REPO / "deploy" / "helm" / "waypoint"
CI_VALUES = CHART / "ci" / "test-values.yaml"
KUBE_VERSION = "1.34.0"  # the schemas deploy/kube_schemas.py writes


def _schemas() -> str:
    location = TOOLS / "kubernetes-json-schema"
    if not (location / "deployment-apps-v1.json").exists():
        pytest.fail("Kubernetes schemas are missing: run `make tools`", pytrace=False)
    return str(location) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"


def _render(chart: Path = CHART, *extra: str) -> subprocess.CompletedProcess[str]:
    return _run(_tool("helm"), "template", "wp", str(chart), "-f", str(CI_VALUES), "--kube-version", KUBE_VERSION,
                *extra)


def _kubeconform(manifests: str) -> subprocess.CompletedProcess[str]:
    return _run(_tool("kubeconform"), "-strict", "-summary", "-schema-location", _schemas(), "-", stdin=manifests)


def test_the_chart_passes_helm_lint():
    result = _run(_tool("helm"), "lint", "--strict", str(CHART), "-f", str(CI_VALUES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rendered_chart_passes_kubeconform_strict():
    rendered = _render()
    assert rendered.returncode == 0, rendered.stderr
    result = _kubeconform(rendered.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


def test_the_chart_renders_what_each_service_needs():
    docs = [d for d in yaml.safe_load_all(_render().stdout) if d]
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    services = ("intake", "planning", "monitoring", "notifications")
    assert set(by_kind["Deployment"]) == {f"wp-waypoint-{s}" for s in services}
    assert set(by_kind["Service"]) == {f"wp-waypoint-{s}" for s in services}
    assert set(by_kind["PodDisruptionBudget"]) == {f"wp-waypoint-{s}" for s in services}
    # the test values turn autoscaling off for notifications: a fixed replica count instead
    assert set(by_kind["HorizontalPodAutoscaler"]) == {f"wp-waypoint-{s}" for s in services if s != "notifications"}
    assert by_kind["Deployment"]["wp-waypoint-notifications"]["spec"]["replicas"] == 2
    assert "replicas" not in by_kind["Deployment"]["wp-waypoint-intake"]["spec"], "the HPA owns the count"
    for name, deployment in by_kind["Deployment"].items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live", name
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready", name
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert container["envFrom"] == [{"secretRef": {"name": "waypoint-secrets"}}], name
    assert "Secret" not in by_kind, "secrets are referenced (existingSecret), never rendered"
    (job,) = by_kind["Job"].values()
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["waypoint", "migrate"]


def test_the_chart_refuses_to_render_without_its_external_dependencies():
    result = _run(_tool("helm"), "template", "wp", str(CHART), "--kube-version", KUBE_VERSION)
    assert result.returncode != 0
    assert "is required" in result.stderr


def test_kubeconform_rejects_a_broken_manifest(tmp_path):
    broken = tmp_path / "waypoint"
    shutil.copytree(CHART, broken)
    template = broken / "templates" / "deployments.yaml"
    # a misspelt field: replica for replicas
    text = template.read_text()
    template.write_text(text.replace("  revisionHistoryLimit: 5", "  revisionHistoryLimit: 5\n  replica: 3"))
    rendered = _render(broken)
    assert rendered.returncode == 0, rendered.stderr
    result = _kubeconform(rendered.stdout)
    assert result.returncode != 0
    assert "additional properties 'replica' not allowed" in result.stdout


def test_every_alerted_metric_is_exported_by_the_kernel():
    source = "\n".join(p.read_text() for p in (REPO / "shared").rglob("*.py"))
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    for metric in set().union(*(_metrics(r["expr"]) for r in rules)) - {"up"}:
        assert f'"{metric.removesuffix("_total")}' in source, f"{metric} is alerted on but no code exports it"


def test_with_sasl_each_service_logs_in_as_its_own_principal_from_its_own_secret():
    """The chart's SASL mode says what deploy.kafka_security.service_env says (passwords from one
    Secret per principal), passes kubeconform, and PLAINTEXT adds nothing."""
    from deploy import kafka_security as sec

    rendered = _render(CHART, "--set", "kafka.securityProtocol=SASL_SSL", "--set", "kafka.caSecret=kafka-ca",
                       "--set", "services.notifications.env.NOTIFICATIONS_AGENCY_TOPICS=true")
    assert rendered.returncode == 0, rendered.stderr
    result = _kubeconform(rendered.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    deployments = {d["metadata"]["name"].removeprefix("wp-waypoint-"): d
                   for d in yaml.safe_load_all(rendered.stdout) if d and d["kind"] == "Deployment"}
    users = {name: f"<{name}>" for name in [sec.service_principal(s) for s in sec.CONSUMES] + [sec.COPIER]}
    for service, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        env = {e["name"]: e for e in pod["containers"][0]["env"]}
        expected = sec.service_env(service, "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092", users)
        for name, value in expected.items():
            if value.startswith("<"):  # a password: from the principal's own Secret
                assert env[name]["valueFrom"]["secretKeyRef"] == {"name": f"waypoint-kafka-{value.strip('<>')}",
                                                                  "key": "password"}, name
            elif name == "KAFKA_SECURITY_PROTOCOL":
                assert env[name]["value"] == "SASL_SSL"
            else:
                assert env[name]["value"] == value, name
        assert env["KAFKA_SSL_CAFILE"]["value"] == "/etc/waypoint/kafka-ca/ca.pem"
        assert {"name": "kafka-ca", "secret": {"secretName": "kafka-ca"}} in pod["volumes"]
    plain = _render()
    assert "KAFKA_SECURITY_PROTOCOL" not in plain.stdout and "kafka-ca" not in plain.stdout
