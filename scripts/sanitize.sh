#!/usr/bin/env bash
# Builds with sanitizers (gcc) and runs the test suite under them; exits non-zero on any report.
#   scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer
#   scripts/sanitize.sh tsan   # ThreadSanitizer
#   scripts/sanitize.sh all    # both (the default)
# Further arguments go to ctest (e.g. -R integration).
#
# Build type, flags and the *SAN_OPTIONS are the presets asan and tsan in CMakePresets.json
# (build/asan, build/tsan); suppressions for third-party false positives are in
# scripts/sanitizers/. The integration tests start build/<preset>/sip_trunk_exporter, so the
# exporter runs sanitized, and a report in its stderr fails the test (tests/integration/harness).
#
# Not run under sanitizers:
#   packaging (both): it tests the install layout, the .deb, the systemd sandbox and the image,
#     not our code; the sanitized binary needs libasan/libtsan (a different .deb) and the unit's
#     SystemCallFilter kills the sanitizer runtimes' extra system calls.
#   alerting, browser (tsan only): they exercise the same exporter code paths as the integration
#     suite, driven by Prometheus, Alertmanager and Chromium; under ThreadSanitizer's slowdown
#     their time-bound end-to-end checks would test the machine, not the code. ASan runs them.
set -euo pipefail
cd "$(dirname "$0")/.."

which="${1:-all}"
[ $# -gt 0 ] && shift
case "$which" in
  asan | tsan) presets=("$which") ;;
  all) presets=(asan tsan) ;;
  *) echo "usage: $0 [asan|tsan|all] [ctest arguments...]" >&2; exit 2 ;;
esac

scripts/install-deps.sh test
jobs="$(nproc)"
for preset in "${presets[@]}"; do
  echo "== $preset: configure and build (build/$preset)" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: tests" >&2
  ctest --preset "$preset" "$@"
done
