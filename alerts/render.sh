#!/usr/bin/env bash
# Renders sip_trunk_exporter.rules.yml from the jsonnet sources in this folder with
# Debian's jsonnet. Run it after editing config.libsonnet, alerts.libsonnet or
# rules.libsonnet; a test fails while the checked-in file is stale. The same groups go into
# deploy/kubernetes/prometheusrule.json: run deploy/kubernetes/render.sh too.
#   alerts/render.sh            rewrite alerts/sip_trunk_exporter.rules.yml
#   alerts/render.sh OUT_DIR    write the file into OUT_DIR instead
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
if ! command -v jsonnet >/dev/null; then
  echo "jsonnet is not installed (Debian package jsonnet; scripts/install-deps.sh test installs it)" >&2
  exit 1
fi
jsonnet -S "$here/prometheus_rules.jsonnet" >"$out/sip_trunk_exporter.rules.yml.tmp"
mv "$out/sip_trunk_exporter.rules.yml.tmp" "$out/sip_trunk_exporter.rules.yml"
