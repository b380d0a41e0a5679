#!/usr/bin/env bash
# Soak test: the release exporter probes 1,000 mixed targets on loopback (healthy, failing,
# flapping, hostile; UDP and TCP) for a while, sampling RSS, fds, lateness and throughput,
# and fails when RSS or fds grow beyond their bounds after the warm-up, or the exporter
# crashes or stops serving /metrics. See tests/soak/soak.py for the fleet and the bounds.
#
#   scripts/soak.sh [--duration 10m] [--targets 1000] [--out DIR] [soak.py options]
#
# Builds sip_trunk_exporter and sip_bench_responder with the release preset (build/release)
# first; an up-to-date build is reused. Results (samples.csv, summary.txt, the exporter's
# log and configuration) go to --out, by default build/release/soak-results/run-TIME.
# Exit status: 0 passed, 1 a check failed, 2 the soak itself broke, 130 interrupted.
# As root it runs in a network namespace of its own (STX_SOAK_SHARED_NET=1: on the host's
# loopback), so tests beside it cannot receive its probes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for arg in "$@"; do
  if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then
    exec /usr/bin/python3 tests/soak/soak.py --help
  fi
done

if [[ ! -x /usr/bin/python3 ]]; then
  echo "soak.sh: /usr/bin/python3 is missing (Debian's python3 package)" >&2
  exit 2
fi

if [[ ! -f build/release/CMakeCache.txt ]]; then
  cmake --preset release
fi
# Two jobs at most: the soak machine is small and the build is only the two binaries.
cmake --build --preset release --parallel 2 --target sip_trunk_exporter sip_bench_responder

soak=(/usr/bin/python3 tests/soak/soak.py
  --exporter build/release/sip_trunk_exporter
  --responder build/release/bench/sip_bench_responder
  "$@")

# As root, in a network namespace of its own: the soak's refused targets and restarted
# responder use ports nothing listens on for a while, and a test running beside the soak
# (CI does) could be given one of them by the kernel and receive the soak's probes.
if [[ "$(id -u)" -eq 0 ]] && command -v ip >/dev/null && [[ -z "${STX_SOAK_SHARED_NET:-}" ]]; then
  ns="stx-soak-$$"
  ip netns add "$ns"
  trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
  ip -n "$ns" link set lo up
  # Not exec'd (the trap removes the namespace): a process-group signal or Ctrl-C still
  # reaches the driver, which stops every peer.
  ip netns exec "$ns" "${soak[@]}"
  exit
fi

# exec: signals (Ctrl-C, a test runner's SIGTERM) reach the driver, which stops every peer.
exec "${soak[@]}"
