#!/usr/bin/env bash
# Periodic check that README's Quick start works on a minimal Debian 12: debootstraps a
# minbase bookworm root, clones this repository (its committed HEAD) into it as an
# unprivileged user with sudo, and runs exactly the README's two commands there:
#
#   scripts/demo.sh    # must get to "demo-peer up" on http://localhost:15060/metrics
#   scripts/test.sh    # the whole suite, as README says
#
# It is not part of .ci/run: a fresh root installs every package of scripts/deps/ and builds
# twice (release and dev), about an hour on 2 cores. Run it before a release, or weekly.
#
#   sudo scripts/check-minimal-debian.sh            # both commands
#   sudo scripts/check-minimal-debian.sh demo       # only scripts/demo.sh
#   sudo scripts/check-minimal-debian.sh test       # only scripts/test.sh
#
# Options (before the command): --keep (leave the root in $STX_CACHE_DIR for a look inside),
# --refresh-base (debootstrap again instead of reusing the cached tarball).
# The minbase tarball is scripts/container-build.sh's (cached in $STX_CACHE_DIR, default
# /var/cache/sip_trunk_exporter; mirror $STX_DEBIAN_MIRROR). Besides minbase, the root gets
# only what a user needs before the first README command: git (to clone), sudo (the scripts
# install with `sudo apt-get`) and ca-certificates. The chroot shares the host's network, so
# 127.0.0.1:15060 and :5070 must be free. Logs: <root>.demo.log, <root>.test.log.
# Needs root (debootstrap, chroot, mounts), debootstrap and git on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/sbin:/sbin"

keep=0
base_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1; shift ;;
    --refresh-base) base_args+=(--refresh-base); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    -*) echo "check-minimal-debian: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
what="${1:-all}"
case "$what" in all|demo|test) ;; *) echo "check-minimal-debian: unknown command $what" >&2; exit 2 ;; esac

log() { printf 'check-minimal-debian: %s\n' "$*" >&2; }
die() { printf 'check-minimal-debian: FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mounts); run it with sudo"
for tool in debootstrap git chroot mount curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

repo=$(pwd)
cache_dir="${STX_CACHE_DIR:-/var/cache/sip_trunk_exporter}"
tarball=$(scripts/container-build.sh "${base_args[@]}" rootfs | tail -1)
[ -s "$tarball" ] || die "no minbase tarball from scripts/container-build.sh rootfs"

root=$(mktemp -d "$cache_dir/minimal-debian.XXXXXX")
mounts=()
demo=""
# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
  local i
  # The demo, if this script ends before it stopped it (its process group: see below).
  if [ -n "$demo" ]; then kill -INT -- "-$demo" 2>/dev/null || true; fi
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${mounts[$i]}" 2>/dev/null || true
  done
  if [ "$keep" -eq 0 ]; then
    rm -rf --one-file-system "$root"
  else
    log "kept the root in $root"
  fi
}
trap cleanup EXIT
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }

log "unpacking $tarball into $root"
tar --numeric-owner -xf "$tarball" -C "$root"
# The tarball's ./ is 0700 (container-build.sh packs a mktemp directory), which would keep
# the root's unprivileged users (dev, apt's _apt) out of /.
chmod 0755 "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
for m in proc sys dev dev/pts; do
  mount --bind "/$m" "$root/$m"
  mounts+=("$root/$m")
done
# As in a container: packages do not start their services (README warns that Debian starts
# kamailio, prometheus and nginx; here there is no init to start them with).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"

log "what a user needs before README's first command: git, sudo, ca-certificates"
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  git sudo ca-certificates >/dev/null
# The host's own trust anchors (/usr/local/share/ca-certificates: a site CA, or the CA of a
# TLS-inspecting proxy on the way to the package registries) are the network's, not the
# project's: a fresh machine on that network would have them too. Node's npm reads them only
# through NODE_EXTRA_CA_CERTS, which is passed on below when the host sets it.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  in_root update-ca-certificates >/dev/null
fi
in_root useradd --create-home --shell /bin/bash dev
printf 'dev ALL=(ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/dev"
chmod 0440 "$root/etc/sudoers.d/dev"

log "cloning $(git rev-parse --short=12 HEAD) (committed HEAD; uncommitted changes are not checked)"
git clone -q --no-hardlinks "$repo" "$root/home/dev/sip_trunk_exporter"
git -C "$root/home/dev/sip_trunk_exporter" checkout -q "$(git rev-parse HEAD)"
in_root chown -R dev:dev /home/dev/sip_trunk_exporter

# A command run by the user `dev` in the clone: "${as_dev[@]}" scripts/x.sh [ARG...].
# shellcheck disable=SC2016  # $0 and $@ are the inner bash's
as_dev=(chroot --userspec=dev:dev "$root" /usr/bin/env -i HOME=/home/dev USER=dev LOGNAME=dev
  PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C.UTF-8 TERM=dumb
  ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt}
  /bin/bash -c 'cd /home/dev/sip_trunk_exporter && exec "$0" "$@"')

status=0
if [ "$what" = all ] || [ "$what" = demo ]; then
  log "scripts/demo.sh (log: $root.demo.log)"
  # chroot, env and bash exec each other down to setsid, which (not a group leader) execs
  # demo.sh in a process group of its own: $! is demo.sh and names that group.
  "${as_dev[@]}" setsid scripts/demo.sh >"$root.demo.log" 2>&1 &
  demo=$!
  up=0
  # A fresh root installs the build packages and builds a release first.
  for _ in $(seq 1 2400); do
    if curl -fsS http://127.0.0.1:15060/metrics 2>/dev/null |
      grep -qE '^sip_target_up\{([^}]*,)?target="demo-peer"(,[^}]*)?\} 1$'; then
      up=1
      break
    fi
    kill -0 "$demo" 2>/dev/null || break
    sleep 1
  done
  # Ctrl-C, as README says: to the demo's process group (the peer and the exporter).
  kill -INT -- "-$demo" 2>/dev/null || true
  wait "$demo" 2>/dev/null || true
  demo=""
  if [ "$up" -eq 1 ]; then
    log "ok: scripts/demo.sh: demo-peer is up on /metrics"
  else
    tail -30 "$root.demo.log" >&2
    log "FAIL: scripts/demo.sh: demo-peer never up on http://127.0.0.1:15060/metrics"
    status=1
  fi
fi
if [ "$what" = all ] || [ "$what" = test ]; then
  log "scripts/test.sh (log: $root.test.log)"
  if "${as_dev[@]}" scripts/test.sh >"$root.test.log" 2>&1; then
    log "ok: scripts/test.sh: $(grep -E 'tests passed' "$root.test.log" | tail -1)"
  else
    grep -E 'tests passed|\(Failed\)|\(Timeout\)|\*\*\*' "$root.test.log" | tail -30 >&2 || true
    log "FAIL: scripts/test.sh (see $root.test.log)"
    status=1
  fi
fi
exit "$status"
