#!/usr/bin/env bash
# Renders each dashboards/NAME.jsonnet to dashboards/NAME.json with Debian's jsonnet.
# Run it after editing a .jsonnet, lib/ or alerts/config.libsonnet; a test fails
# while a checked-in JSON file is stale.
#   dashboards/render.sh            rewrite the checked-in JSON files
#   dashboards/render.sh OUT_DIR    write them into OUT_DIR instead
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
if ! command -v jsonnet >/dev/null; then
  echo "jsonnet is not installed (Debian package jsonnet; scripts/install-deps.sh test installs it)" >&2
  exit 1
fi
for src in "$here"/*.jsonnet; do
  name="$(basename "$src" .jsonnet)"
  jsonnet "$src" >"$out/$name.json.tmp"
  mv "$out/$name.json.tmp" "$out/$name.json"
done
