#!/usr/bin/env bash
# Tools the deploy checks need (tests/infra/test_deploy_checks.py), installed when missing:
#   promtool     Debian's `prometheus` package (alert rules: check + unit tests)
#   helm         built from the Go module proxy into .waypoint/tools (chart lint + template)
#   kubeconform  built from the Go module proxy into .waypoint/tools (manifests vs schemas)
#   Kubernetes JSON schemas for kubeconform, written offline from the kubernetes-validate wheel
#     (a dev dependency) by deploy/kube_schemas.py
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.waypoint/tools"
HELM_VERSION=v3.19.0
KUBECONFORM_VERSION=v0.7.0
mkdir -p "$TOOLS"

if ! command -v promtool >/dev/null; then
  echo "tools: installing promtool (apt: prometheus)"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null; then
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >/dev/null
  fi
fi

build() {  # build <binary> <module>@<version>: once per version (the stamp names it)
  local bin=$1 module=$2
  if [ ! -x "$TOOLS/$bin" ] || [ "$(cat "$TOOLS/$bin.version" 2>/dev/null)" != "$module" ]; then
    echo "tools: building $module (Go module proxy)"
    GOBIN="$TOOLS" go install "$module"
    echo "$module" > "$TOOLS/$bin.version"
  fi
}
build helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
build kubeconform "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"

SCHEMAS="$TOOLS/kubernetes-json-schema"
if [ ! -f "$SCHEMAS/deployment-apps-v1.json" ] || [ deploy/kube_schemas.py -nt "$SCHEMAS/deployment-apps-v1.json" ]; then
  .venv/bin/python -m deploy.kube_schemas "$SCHEMAS"
fi
