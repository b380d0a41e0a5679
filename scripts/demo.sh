#!/usr/bin/env bash
# Installs what is missing, builds, starts a DEMO SIP peer on 127.0.0.1:5070 and runs the
# exporter on config/example.toml. Metrics: http://localhost:15060/metrics. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"

echo "Starting the DEMO peer (SIPp answering OPTIONS on 127.0.0.1:5070; not a real trunk)" >&2
sipp -sf config/demo-peer.xml -i 127.0.0.1 -p 5070 -nostdin >/dev/null 2>&1 &
peer=$!
trap 'kill "$peer" 2>/dev/null || true' EXIT INT TERM
echo "Exporter: http://localhost:15060/metrics (Ctrl-C to stop)" >&2
build/release/sip_trunk_exporter --config.file=config/example.toml "$@"
