#!/usr/bin/env bash
# Tools the deploy checks need (tests/infra/test_deploy_checks.py), installed when missing:
#   promtool     from Debian's `prometheus` package (alert rules: check + unit tests)
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

# promtool: the machine's, else the one in Debian's `prometheus` package, extracted from the .deb
# into .waypoint/tools (installing the package would also install and start a Prometheus server).
if ! command -v promtool >/dev/null && [ ! -x "$TOOLS/promtool" ]; then
  echo "tools: extracting promtool from Debian's prometheus package"
  work=$(mktemp -d)
  (cd "$work" && { apt-get download prometheus >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download prometheus >/dev/null 2>&1; }; })
  dpkg-deb -x "$work"/prometheus_*.deb "$work/x"
  cp "$work/x/usr/bin/promtool" "$TOOLS/promtool"
  rm -rf "$work"
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
