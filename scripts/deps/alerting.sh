#!/usr/bin/env bash
# install-deps.sh hook (argument: build|test). For `test`: the npm packages that
# tests/alerting pins in its package-lock.json (Grafana's dashboard types, the TypeScript
# compiler, and the Kubernetes and Prometheus Operator types that deploy/kubernetes/
# renders its manifests with). Does nothing when that lock file is already installed.
set -euo pipefail
[ "${1:-build}" = test ] || exit 0

dir="$(cd "$(dirname "$0")/../../tests/alerting" && pwd)"
stamp="$dir/node_modules/.installed-package-lock.json"
if [ -f "$stamp" ] && cmp -s "$stamp" "$dir/package-lock.json"; then
  exit 0
fi

if ! command -v npm >/dev/null; then
  # Node.js comes from test-alerting.txt; Debian ships npm separately.
  sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends npm
fi

echo "Installing the npm packages of tests/alerting (npm ci)" >&2
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
cp "$dir/package-lock.json" "$stamp"
