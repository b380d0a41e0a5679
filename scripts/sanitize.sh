#!/usr/bin/env bash
# Builds with sanitizers (gcc) and runs the test suite under them; exits non-zero on any report.
#   scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer + LeakSanitizer
#   scripts/sanitize.sh tsan   # ThreadSanitizer
#   scripts/sanitize.sh all    # both (the default)
#   scripts/sanitize.sh asan --build-only   # configure and build, run nothing
#   scripts/sanitize.sh asan --no-build     # run the tests of an existing build
# Further arguments go to ctest (e.g. -R integration).
#
# Build type, flags (STX_SANITIZE; -O1 -g1, line tables being all a report needs, for a
# shorter build) and the *SAN_OPTIONS are the presets asan and tsan in CMakePresets.json
# (build/asan, build/tsan). The integration tests start
# build/<preset>/sip_trunk_exporter, so the exporter runs sanitized too, and a sanitizer report
# in its stderr fails the test (Process in tests/integration/harness.cc).
#
# Not run under sanitizers:
#   packaging (both): it checks the install layout, the .deb, the systemd sandbox and the
#     container image, not our code; a sanitized binary needs libasan/libtsan (other Depends)
#     and the unit's SystemCallFilter kills the sanitizer runtimes' extra system calls.
#   alerting, browser (tsan only): Prometheus, Alertmanager and Chromium drive the exporter
#     through the same scrapes, /probe and status pages as the integration suite, which does run
#     under ThreadSanitizer; ASan runs them.
#   the shipped settings' end-to-end email test (both): a minute and a half of waiting on the
#     shipped timers; the code it drives runs sanitized in the suites above.
#   the HA test (alerting.HaTest, both): deploy/ha's exporters, Prometheus pair, Alertmanager
#     cluster and VictoriaMetrics failed over case by case, minutes of waiting on timers; the
#     exporter code it drives runs sanitized in the integration suite.
set -euo pipefail
cd "$(dirname "$0")/.."

which="${1:-all}"
[ $# -gt 0 ] && shift
case "$which" in
  asan | tsan) presets=("$which") ;;
  all) presets=(asan tsan) ;;
  *) echo "usage: $0 [asan|tsan|all] [--build-only|--no-build] [ctest arguments...]" >&2; exit 2 ;;
esac
build=1
run=1
case "${1:-}" in
  --build-only) run=0; shift ;;
  --no-build) build=0; shift ;;
esac

scripts/install-deps.sh test
jobs="$(nproc)"
for preset in "${presets[@]}"; do
  if [ "$build" -eq 1 ]; then
    echo "== $preset: configure and build (build/$preset)" >&2
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
  fi
  if [ "$run" -eq 1 ]; then
    echo "== $preset: tests" >&2
    ctest --preset "$preset" "$@"
  fi
done
