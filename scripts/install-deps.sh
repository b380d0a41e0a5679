#!/usr/bin/env bash
# Installs the Debian 12 packages sip_trunk_exporter needs; does nothing when all are present.
#   scripts/install-deps.sh build   # to build and run the exporter (and its demo peer)
#   scripts/install-deps.sh test    # also everything the test suite runs against
#   scripts/install-deps.sh fuzz    # also clang and its fuzzing runtime (scripts/fuzz.sh)
#   scripts/install-deps.sh bench   # also what the benchmarks drive and capture with (bench/run)
# Package lists: scripts/deps/build.txt, for tests every scripts/deps/test*.txt, and for
# fuzz and bench those plus scripts/deps/<mode>.txt.
# After packages, every scripts/deps/*.sh runs with the mode as its argument (for installs
# apt cannot do, e.g. npm packages); each must be idempotent.
set -euo pipefail
cd "$(dirname "$0")/deps"

mode="${1:-build}"
case "$mode" in
  build) lists=(build.txt) ;;
  test) lists=(build.txt test*.txt) ;;
  fuzz | bench) lists=(build.txt test*.txt "$mode.txt") ;;
  *) echo "usage: $0 build|test|fuzz|bench" >&2; exit 2 ;;
esac

mapfile -t pkgs < <(cat "${lists[@]}" | sed 's/#.*//' | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

for hook in ./*.sh; do
  [ -e "$hook" ] || continue
  bash "$hook" "$mode"
done
