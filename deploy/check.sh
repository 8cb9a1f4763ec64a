#!/usr/bin/env bash
# Static checks of the container image and the Kubernetes manifests; .ci/run runs them after
# installing the tools. By hand, from anywhere in the repository:
#   bash deploy/check.sh
# Tools come from these variables, else from target/tools (where .ci/run installs them), else
# from the PATH: KUBECTL, KUBERNETES_VALIDATE, CHECKOV, HADOLINT. A missing hadolint is
# reported and skipped (it is optional); every other tool is required.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/tools"

# The oldest Kubernetes release the manifests promise to work on (native gRPC probes are GA
# since 1.27); kubernetes-validate carries its schemas, so no network is needed.
kubernetes_version=1.30.0
overlays=(dev production production-monitored)
# Kinds kubernetes-validate has no schema for (custom resources), allowed in one overlay each;
# it only warns about a kind it does not know, so any other such warning fails the check. The
# ServiceMonitors' fields are checked by tests/tests/manifests.rs against the Services instead.
declare -A custom_kinds=([production-monitored]="ServiceMonitor")

pick() { # pick VARIABLE candidate-path command-name
  local value="${!1:-}"
  if [ -n "$value" ]; then echo "$value"; elif [ -x "$2" ]; then echo "$2"; else command -v "$3" || true; fi
}
kubectl=$(pick KUBECTL /nonexistent kubectl)
validate=$(pick KUBERNETES_VALIDATE "$tools/kubernetes-validate/bin/kubernetes-validate" kubernetes-validate)
checkov=$(pick CHECKOV "$tools/checkov/bin/checkov" checkov)
hadolint=$(pick HADOLINT "$tools/hadolint/bin/hadolint" hadolint)
for tool in kubectl validate checkov; do
  [ -n "${!tool}" ] || { echo "deploy/check.sh: $tool not found (see the comment at the top)" >&2; exit 1; }
done
# kubernetes-validate installed with `pip install --target` needs its directory on the path.
if [ "$validate" = "$tools/kubernetes-validate/bin/kubernetes-validate" ]; then
  export PYTHONPATH="$tools/kubernetes-validate${PYTHONPATH:+:$PYTHONPATH}"
fi

rendered="$tools/rendered"
mkdir -p "$rendered"
for overlay in "${overlays[@]}"; do
  echo "-- kubectl kustomize deploy/k8s/overlays/$overlay"
  "$kubectl" kustomize "deploy/k8s/overlays/$overlay" > "$rendered/$overlay.yaml"
  echo "   $(grep -c '^kind:' "$rendered/$overlay.yaml") objects"

  echo "-- kubernetes-validate --strict -k $kubernetes_version ($overlay)"
  report="$rendered/$overlay.validate.txt"
  if ! "$validate" --strict --quiet -k "$kubernetes_version" "$rendered/$overlay.yaml" > "$report" 2>&1; then
    cat "$report"; exit 1
  fi
  allowed="${custom_kinds[$overlay]:-}"
  unknown=$(grep "Couldn't find schema for kind" "$report" | grep -Ev "for kind (${allowed:-}) with" || true)
  if [ -n "$unknown" ]; then
    echo "$unknown"; echo "deploy/check.sh: $overlay has kinds with no schema to validate against" >&2; exit 1
  fi
  if [ -n "$allowed" ]; then
    echo "   not validated here (custom resources, no schema): $(grep -Ec "for kind ($allowed) with" "$report") $allowed"
  fi

  echo "-- checkov --framework kubernetes ($overlay)"
  # Skips live in the manifests, as checkov.io/skipN annotations that give a reason.
  "$checkov" --quiet --compact --framework kubernetes --skip-download \
    --file "$rendered/$overlay.yaml" > "$rendered/$overlay.checkov.txt" 2>&1 || {
    cat "$rendered/$overlay.checkov.txt"; exit 1; }
  grep -E '^(Passed|kubernetes scan results)|Passed checks' "$rendered/$overlay.checkov.txt" || true
done

echo "-- hadolint deploy/docker/Dockerfile"
if [ -n "$hadolint" ]; then
  "$hadolint" deploy/docker/Dockerfile
else
  echo "   hadolint not installed: skipped"
fi
echo "manifests: all checks passed"
