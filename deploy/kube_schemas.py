"""Kubernetes JSON schemas for ``kubeconform``, offline.

kubeconform normally downloads its schemas from GitHub, which CI cannot reach. The PyPI package
``kubernetes-validate`` (a dev dependency) ships the same schemas generated from Kubernetes'
OpenAPI documents, one directory per Kubernetes version, as files whose ``$ref``s point into a
shared ``_definitions.json`` by absolute path. kubeconform compiles each schema on its own, so this
module writes *standalone* copies: each kind's schema with the definitions it reaches inlined under
``$defs``. Only the kinds Waypoint's chart may render are written; a manifest of any other kind
fails validation ("could not find schema") rather than being skipped.

    python -m deploy.kube_schemas OUT_DIR      # writes OUT_DIR/<kind>-<group>-<version>.json
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "1.34.0"
KINDS = (
    "deployment-apps-v1", "service-v1", "horizontalpodautoscaler-autoscaling-v2", "poddisruptionbudget-policy-v1",
    "job-batch-v1", "configmap-v1", "secret-v1", "serviceaccount-v1", "ingress-networking-v1",
    "networkpolicy-networking-v1", "cronjob-batch-v1",
)
_PREFIX = "/api/_definitions.json#/$defs/"
_LOCAL = "#/$defs/"


def _source_dir() -> Path:
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{KUBERNETES_VERSION}-local-strict"
    return Path(str(root))


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            for prefix in (_PREFIX, _LOCAL):
                if ref.startswith(prefix):
                    found.add(ref[len(prefix):])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _relocal(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: ("#/$defs/" + v[len(_PREFIX):] if k == "$ref" and isinstance(v, str) and v.startswith(_PREFIX)
                    else _relocal(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_relocal(v) for v in node]
    return node


def standalone(kind_schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """``kind_schema`` with every definition it reaches (transitively) inlined under ``$defs``."""
    wanted: set[str] = set()
    todo = list(_refs(kind_schema))
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted.add(name)
        todo.extend(_refs(definitions[name]) - wanted)
    schema = _relocal(kind_schema)
    schema.pop("$id", None)  # an absolute /api/... id would make kubeconform resolve refs against it
    schema["$defs"] = {name: _relocal(definitions[name]) for name in sorted(wanted)}
    return schema


def write(out: Path) -> list[Path]:
    source = _source_dir()
    definitions = json.loads((source / "_definitions.json").read_text())["$defs"]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        schema = standalone(json.loads((source / f"{kind}.json").read_text()), definitions)
        path = out / f"{kind}.json"
        path.write_text(json.dumps(schema))
        written.append(path)
    return written


if __name__ == "__main__":
    print(f"wrote {len(write(Path(sys.argv[1])))} schemas (Kubernetes {KUBERNETES_VERSION}) to {sys.argv[1]}")
