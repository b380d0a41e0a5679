#!/usr/bin/env bash
# clang-tidy (Debian 12's, version 14) with the repository's .clang-tidy over every project .cc
# (sip/, config/, probes/, exporter/, fuzz/, tests/); exits non-zero on any warning.
#   scripts/tidy.sh              # all of them
#   scripts/tidy.sh FILE...      # just these
# Compile flags come from a configure-only build/tidy (STX_TIDY_BUILD_DIR), with every suite, so
# the result does not depend on how build/dev was last configured. Files outside the database
# (fuzz/ is built by its own script) get the flags of their nearest neighbour in it, which
# clang-tidy infers itself; run-clang-tidy would skip them, hence clang-tidy per file here.
#
# A file clang-tidy found nothing in is remembered under a hash of all it depends on (the file
# preprocessed with its headers and comments, its flags, the .clang-tidy files, this script and
# clang-tidy's version; scripts/tidy_key.py), in STX_TIDY_CACHE (default
# ~/.cache/sip_trunk_exporter/tidy; "off" disables it). A file is checked again only when one
# of those changed: the same idea as ccache, for clang-tidy. Findings are never remembered.
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

cache="${STX_TIDY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sip_trunk_exporter/tidy}"
if [ "$cache" != off ]; then
  mkdir -p "$cache"
  find "$cache" -type f -mtime +30 -delete  # results not used for a month
fi

# One clang-tidy per file, its output printed in one piece; a file with findings fails.
# The compile commands are gcc's: clang must not stop at warning flags it lacks.
check_one() {
  local out key=""
  if [ "$CACHE" != off ]; then
    key="$(scripts/tidy_key.py "$DB" "$1")"
    if [ -n "$key" ] && [ -e "$CACHE/$key" ]; then
      touch "$CACHE/$key"
      return 0
    fi
  fi
  if ! out="$("$TIDY" -p "$DB" --quiet --extra-arg=-Wno-unknown-warning-option "$1" 2>&1)"; then
    printf '%s\n' "$out" | grep -v '^[0-9]* warnings\? generated\.$' >&2
    return 1
  fi
  if [ -n "$key" ]; then printf '%s\n' "$1" >"$CACHE/$key"; fi
}
export -f check_one
export TIDY="$tidy" DB="$db" CACHE="$cache"

echo "clang-tidy ($("$tidy" --version | sed -n 's/.*version \([0-9.]*\).*/\1/p')) on ${#files[@]} files" >&2
if printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$(nproc)" bash -c 'check_one "$1"' _; then
  echo "clang-tidy: no findings" >&2
else
  echo "clang-tidy: findings above" >&2
  exit 1
fi
