#!/usr/bin/env bash
# clang-tidy (Debian 12's, version 14) with the repository's .clang-tidy over every project .cc
# (sip/, config/, probes/, exporter/, fuzz/, tests/); exits non-zero on any warning.
#   scripts/tidy.sh              # all of them
#   scripts/tidy.sh FILE...      # just these
# Compile flags come from a configure-only build/tidy (STX_TIDY_BUILD_DIR), with every suite, so
# the result does not depend on how build/dev was last configured. Files outside the database
# (fuzz/ is built by its own script) get the flags of their nearest neighbour in it, which
# clang-tidy infers itself; run-clang-tidy would skip them, hence clang-tidy per file here.
set -euo pipefail
cd "$(dirname "$0")/.."

tidy="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
if [ -z "$tidy" ]; then
  scripts/install-deps.sh test
  tidy="$(command -v clang-tidy-14 || command -v clang-tidy)"
fi

db="${STX_TIDY_BUILD_DIR:-build/tidy}"
cmake -S . -B "$db" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTX_BUILD_TESTS=ON -DSTX_WERROR=ON \
  -DSTX_SKIP_SUITES= >/dev/null
# The one generated source the code includes: metrics.pb.h (protoc, at build time).
cmake --build "$db" --target stx_metrics_proto >/dev/null

if [ $# -gt 0 ]; then
  files=("$@")
else
  dirs=()
  for d in sip config probes exporter fuzz tests; do [ -d "$d" ] && dirs+=("$d"); done
  mapfile -t files < <(find "${dirs[@]}" -name node_modules -prune -o -name '*.cc' -print | sort)
fi

# One clang-tidy per file, its output printed in one piece; a file with findings fails.
# The compile commands are gcc's: clang must not stop at warning flags it lacks.
check_one() {
  local out
  if ! out="$("$TIDY" -p "$DB" --quiet --extra-arg=-Wno-unknown-warning-option "$1" 2>&1)"; then
    printf '%s\n' "$out" | grep -v '^[0-9]* warnings\? generated\.$' >&2
    return 1
  fi
}
export -f check_one
export TIDY="$tidy" DB="$db"

echo "clang-tidy ($("$tidy" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')) on ${#files[@]} files" >&2
if printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$(nproc)" bash -c 'check_one "$1"' _; then
  echo "clang-tidy: no findings" >&2
else
  echo "clang-tidy: findings above" >&2
  exit 1
fi
