#!/usr/bin/env bash
# Takes the README screenshot of the status page (docs/status-page.png): starts DEMO SIPp peers on
# loopback and the exporter with four demo targets (a fast peer, a peer with simulated WAN delay,
# one answering 503, a closed port), waits until every state is known and the sparklines have a
# few points, screenshots "/" in headless Chromium and stops everything, also on failure.
#   scripts/screenshot.sh [--binary PATH] [--out FILE] [--size WIDTHxHEIGHT]
# Without --binary it builds the release preset first (like scripts/demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
out="docs/status-page.png"
size="1280x400"
min_probes=15  # answered probes of the fast peer before the screenshot (one per second)
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--out FILE] [--size WIDTHxHEIGHT]" >&2; exit 2 ;;
  esac
done

for tool in sipp curl chromium; do
  if ! command -v "$tool" >/dev/null; then
    echo "$tool is missing; installing the test dependencies" >&2
    scripts/install-deps.sh test
    break
  fi
done
if [ -z "$binary" ]; then
  scripts/install-deps.sh build
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)"
  binary=build/release/sip_trunk_exporter
fi
[ -x "$binary" ] || { echo "exporter binary not found: $binary" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/stx-screenshot.XXXXXX")"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    # Up to 5 s for each to exit, then SIGKILL.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ]; then
    for log in "$work"/*.log; do
      [ -e "$log" ] || continue
      echo "----- $log" >&2
      tail -n 20 "$log" >&2
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() {
  local hex
  hex=$(printf ':%04X ' "$1")
  grep -qs "$hex" /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6
}
# Sets variable $1 to a random port that nothing has bound (per /proc/net) and that this
# script has not picked before.
taken=" "
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p" && [[ "$taken" != *" $p "* ]]; then
      taken+="$p "
      printf -v "$1" '%s' "$p"
      return
    fi
  done
  echo "no free port found" >&2
  return 1
}

# Polls `$@` every 0.2 s until it succeeds or `deadline_s` seconds pass.
wait_for() {
  local deadline=$((SECONDS + $1)) what="$2"
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

# The DEMO peers: config/demo-peer.xml as is, with a random 20-60 ms delay, and answering 503.
cp config/demo-peer.xml "$work/fast.xml"
sed 's|^\(\s*\)</recv>|&\n\1<pause distribution="uniform" min="20" max="60"/>|' \
  config/demo-peer.xml >"$work/wan.xml"
sed 's|SIP/2.0 200 OK|SIP/2.0 503 Service Unavailable|' config/demo-peer.xml >"$work/busy.xml"
declare -A peer_port
port="" control="" media="" dead_port="" http_port=""
for peer in fast wan busy; do
  pick_port port
  pick_port control
  pick_port media
  peer_port[$peer]=$port
  sipp -sf "$work/$peer.xml" -i 127.0.0.1 -p "$port" -bind_local -ci 127.0.0.1 -cp "$control" \
    -mi 127.0.0.1 -mp "$media" -nostdin >"$work/sipp-$peer.log" 2>&1 &
  pids+=($!)
done
pick_port dead_port
pick_port http_port
for peer in fast wan busy; do
  wait_for 10 "SIPp ($peer) on port ${peer_port[$peer]}" port_in_use "${peer_port[$peer]}"
done

cat >"$work/demo.toml" <<EOF
# DEMO configuration for the README screenshot (scripts/screenshot.sh).
[defaults]
interval = "1s"
timeout = "800ms"
failures_before_down = 3
successes_before_up = 1
healthy_codes = ["2xx"]

[[target]]
name = "demo-peer"
uri = "sip:127.0.0.1:${peer_port[fast]}"
labels = { carrier = "demo", site = "local" }

[[target]]
name = "demo-wan"
uri = "sip:127.0.0.1:${peer_port[wan]}"
labels = { carrier = "demo", site = "remote" }

[[target]]
name = "demo-busy"
uri = "sip:127.0.0.1:${peer_port[busy]}"
labels = { carrier = "demo", site = "local" }

[[target]]
name = "demo-dead"
uri = "sip:127.0.0.1:${dead_port}"
labels = { carrier = "demo", site = "local" }
EOF

"$binary" --config.file="$work/demo.toml" --web.listen-address="127.0.0.1:$http_port" \
  --log.level=info >"$work/exporter.log" 2>&1 &
exporter_pid=$!
pids+=("$exporter_pid")
base="http://127.0.0.1:$http_port"

metrics_ready() {
  if ! kill -0 "$exporter_pid" 2>/dev/null; then
    echo "the exporter exited" >&2
    exit 1
  fi
  curl -fsS --max-time 2 "$base/metrics" -o "$work/metrics.txt" 2>/dev/null || return 1
  # Every target's state known (a first change recorded), enough probes for the sparklines.
  local known probes
  known=$(grep -c '^sip_target_last_change_timestamp_seconds{.*} [1-9]' "$work/metrics.txt" || true)
  probes=$(awk '/^sip_probes_total\{/ && /target="demo-peer"/ && /result="success"/ {s += $NF}
                END {print s + 0}' "$work/metrics.txt")
  [ "$known" -ge 4 ] && [ "${probes%.*}" -ge "$min_probes" ]
}
wait_for 60 "all four demo targets to have a known state" metrics_ready

mkdir -p "$(dirname "$out")"
profile="$work/chromium-profile"
mkdir -p "$profile"
rm -f "$out"
timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic \
  --no-first-run --disable-background-networking --disable-component-update --disable-sync \
  --disable-extensions --hide-scrollbars --force-device-scale-factor=1 \
  --user-data-dir="$profile" --window-size="${size/x/,}" --screenshot="$out" "$base/" \
  >"$work/chromium.log" 2>&1
if [ ! -s "$out" ] || [ "$(head -c 8 "$out" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
  echo "chromium produced no PNG at $out" >&2
  exit 1
fi
echo "Wrote $out ($(stat -c %s "$out") bytes, ${size})" >&2
