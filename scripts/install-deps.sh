#!/usr/bin/env bash
# Installs the Debian 12 packages sip_trunk_exporter needs; does nothing when all are present.
#   scripts/install-deps.sh build   # to build and run the exporter (and its demo peer)
#   scripts/install-deps.sh test    # also what the test suite runs against
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config git libboost-dev prometheus-cpp-dev
  libtomlplusplus-dev zlib1g-dev libssl-dev sip-tester curl)
test_pkgs=(libgtest-dev libgmock-dev kamailio sipsak prometheus gzip)

case "${1:-build}" in
  build) pkgs=("${build_pkgs[@]}") ;;
  test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
echo "Installing: ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
