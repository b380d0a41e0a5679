#!/usr/bin/env bash
# Builds the container image from the repository's unmodified Dockerfile without a Docker engine
# and without a registry, then smoke-tests it.
#
#   scripts/container-build.sh            # base image if missing, build, smoke test
#   scripts/container-build.sh build      # base image if missing, build
#   scripts/container-build.sh smoke      # smoke-test the image built last
#   scripts/container-build.sh base       # only make the local debian:bookworm(-slim) base
#   scripts/container-build.sh rootfs     # print the cached debootstrap tarball (made if missing)
#
# Options (before the command): --tag NAME (default localhost/sip_trunk_exporter), --refresh-base
# (debootstrap again), --skip-if-unavailable (exit 77 with a message when podman, buildah or
# debootstrap are missing or we are not root: what the test suite uses).
#
# How: debootstrap (Debian 12, minbase, from the machine's Debian mirror) makes a root filesystem
# tarball cached in $STX_CACHE_DIR (default /var/cache/sip_trunk_exporter); `podman import`
# turns it into docker.io/library/debian:bookworm and :bookworm-slim in local storage, so the
# Dockerfile's FROM lines resolve without pulling; `buildah build --isolation chroot` builds.
# It also builds deploy/demo-peer/Dockerfile, the compose stack's demo SIP peer. Repeated runs
# reuse the cached dependency layer and drop the layers they no longer need.
# The smoke test runs the image's own ENTRYPOINT with `buildah run --isolation chroot` (host
# network) against a SIPp peer on loopback, the demo peer image and a closed port, and checks
# from the host that /metrics shows both peers up and the closed port down as refused, that the
# process runs as a non-root user without capabilities, that the HEALTHCHECK command works,
# that SIGHUP reloads and SIGTERM stops it with exit code 0, that HTTPS works with
# --web.config.file, that the image is under 60 MB and that its labels and --version carry
# this checkout's version and revision.
# Needs root (debootstrap, rootful container storage), podman, buildah, debootstrap, and for the
# smoke test sipp, curl, ss, python3 and openssl (all in scripts/deps/test-packaging.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/sbin:/sbin"  # debootstrap and chroot live there

tag=localhost/sip_trunk_exporter
refresh_base=0
skip_rc=1
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=$2; shift 2 ;;
    --refresh-base) refresh_base=1; shift ;;
    --skip-if-unavailable) skip_rc=77; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    -*) echo "container-build: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
cmd="${1:-all}"
case "$cmd" in all|build|smoke|base|rootfs) ;; *) echo "container-build: unknown command $cmd" >&2; exit 2 ;; esac

mirror="${STX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_dir="${STX_CACHE_DIR:-/var/cache/sip_trunk_exporter}"
size_limit=$((60 * 1000 * 1000))

log() { printf 'container-build: %s\n' "$*" >&2; }
die() { printf 'container-build: FAIL: %s\n' "$*" >&2; exit 1; }
unavailable() { printf 'container-build: SKIP: %s\n' "$*" >&2; exit "$skip_rc"; }

[ "$(id -u)" -eq 0 ] || unavailable "needs root (debootstrap and rootful container storage); run it with sudo"
need=(debootstrap)
[ "$cmd" = rootfs ] || need+=(podman buildah)
[ "$cmd" = smoke ] || [ "$cmd" = all ] && need+=(sipp curl ss python3 openssl)
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null || unavailable "$tool is not installed (scripts/install-deps.sh test installs it)"
done

version=$(sed -n 's/^project(sip_trunk_exporter VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || die "cannot read the project version from CMakeLists.txt"
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
image="$tag:$version"
demo_image="$tag-demo-peer:latest"

# --- base image ---------------------------------------------------------------------------------

arch=$(dpkg --print-architecture)
rootfs_tar="$cache_dir/debian-bookworm-minbase-$arch.tar"

make_rootfs() {
  mkdir -p "$cache_dir"
  exec 9>"$cache_dir/.lock"
  flock 9
  if [ -s "$rootfs_tar" ] && [ "$refresh_base" -eq 0 ]; then
    exec 9>&-
    return
  fi
  local dir
  dir=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  log "debootstrap bookworm (minbase) from $mirror into $dir"
  local t0=$SECONDS
  if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2
    rm -rf --one-file-system "$dir" "$dir.log"
    die "debootstrap failed"
  fi
  # As the official image: deb822 sources for bookworm, its updates and security, no package
  # lists or downloaded .debs, no documentation or translations (the -slim treatment).
  rm -f "$dir/etc/apt/sources.list"
  cat >"$dir/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$dir/var/lib/apt/lists" "$dir/var/cache/apt" -type f -delete
  cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
  find "$dir/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/locale/*
  echo 'Acquire::Languages "none";' >"$dir/etc/apt/apt.conf.d/docker-no-languages"
  tar --numeric-owner --xattrs -C "$dir" -cf "$rootfs_tar.tmp" .
  mv -f "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf --one-file-system "$dir" "$dir.log"
  log "rootfs tarball $rootfs_tar ($(du -m "$rootfs_tar" | cut -f1) MB) in $((SECONDS - t0)) s"
  exec 9>&-
}

make_base() {
  if [ "$refresh_base" -eq 0 ] && podman image exists docker.io/library/debian:bookworm &&
    podman image exists docker.io/library/debian:bookworm-slim; then
    return
  fi
  make_rootfs
  log "podman import $rootfs_tar as docker.io/library/debian:bookworm and :bookworm-slim"
  podman import --quiet --change 'CMD ["bash"]' "$rootfs_tar" docker.io/library/debian:bookworm >/dev/null
  podman tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim
}

# --- build ------------------------------------------------------------------------------------

build_one() {  # build_one IMAGE DOCKERFILE [buildah build args...]
  local img=$1 file=$2 old_id new_id list out id t0=$SECONDS
  shift 2
  old_id=$(podman image inspect --format '{{.Id}}' "$img" 2>/dev/null || true)
  out=$(mktemp)
  log "buildah build $img from $file"
  # --pull=never: the bases come from local storage; nothing is fetched from a registry.
  buildah build --isolation chroot --layers --pull=never "$@" -t "$img" -f "$file" . 2>&1 |
    tee "$out"
  new_id=$(podman image inspect --format '{{.Id}}' "$img")

  # So that repeated runs don't pile up: drop the previous build of this tag, and the untagged
  # images (layer cache) the previous build made or used that this build did not use.
  if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    podman rmi "$old_id" >/dev/null 2>&1 || true
  fi
  mkdir -p "$cache_dir"
  list="$cache_dir/images-$(printf '%s' "$img" | tr -c 'A-Za-z0-9.-' '_')"
  sed -n 's/^--> \(Using cache \)\{0,1\}\([0-9a-f]\{11,64\}\)$/\2/p' "$out" |
    while read -r id; do podman image inspect --format '{{.Id}}' "$id" 2>/dev/null || true; done |
    sort -u >"$list.new"
  rm -f "$out"
  if [ -f "$list" ]; then
    comm -23 <(sort -u "$list") "$list.new" | while read -r id; do
      if [ "$(podman image inspect --format '{{len .RepoTags}}' "$id" 2>/dev/null)" = 0 ]; then
        podman rmi "$id" >/dev/null 2>&1 || true
      fi
    done
  fi
  mv -f "$list.new" "$list"
  log "built $img in $((SECONDS - t0)) s"
}

build_images() {
  local source_url
  source_url=$(git remote get-url origin 2>/dev/null || true)
  [[ "$source_url" =~ ^https:// ]] || source_url=""
  # --format docker keeps HEALTHCHECK (the OCI image format has no field for it).
  build_one "$image" Dockerfile --format docker \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg SOURCE_URL="$source_url" -t "$tag:latest"
  build_one "$demo_image" deploy/demo-peer/Dockerfile
}

# --- smoke test --------------------------------------------------------------------------------

# Globals, so that the EXIT trap still sees them after smoke() returns.
work="" containers=() pids=()
# Background processes get SIGTERM when this script dies, even by SIGKILL (a ctest timeout).
bg="setpriv --pdeathsig TERM --"

cleanup() {
  set +e
  local pid c
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1; done
  [ -n "$work" ] && rm -rf "$work"
}

json_list() {  # json_list FILE EXPRESSION: the list EXPRESSION(img) of an image inspect, one a line
  python3 -c 'import json,sys; img=json.load(open(sys.argv[1]))[0]; [print(a) for a in eval(sys.argv[2])]' "$1" "$2"
}

listener_pid() {  # listener_pid tcp|udp PORT: the process bound to it
  local opt=-Htlnp
  [ "$1" = udp ] && opt=-Hulnp
  ss "$opt" "sport = :$2" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}

free_ports() {  # free_ports udp|tcp ...: distinct free loopback ports; UDP ones keep +2 free too
  python3 - "$@" <<'EOF'
import socket, sys
held, ports = [], []
for kind in sys.argv[1:]:
    t = socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM
    while True:
        s = socket.socket(socket.AF_INET, t)
        s.bind(("127.0.0.1", 0))
        held.append(s)
        p = s.getsockname()[1]
        if kind != "udp":
            break
        if p > 65500:
            continue
        probe = socket.socket(socket.AF_INET, t)
        try:
            probe.bind(("127.0.0.1", p + 2))  # SIPp's RTP echo uses -mp and -mp+2
            break
        except OSError:
            pass
        finally:
            probe.close()
    ports.append(str(p))
print(" ".join(ports))
EOF
}

check_image_config() {  # check_image_config INSPECT.json
  python3 - "$1" "$version" "$revision" <<'EOF'
import json, sys
img = json.load(open(sys.argv[1]))[0]
cfg, version, revision = img["Config"], sys.argv[2], sys.argv[3]
errors = []
user = cfg.get("User", "")
if user.split(":")[0] in ("", "0", "root"):
    errors.append(f"runs as root (User={user!r})")
if "15060/tcp" not in (cfg.get("ExposedPorts") or {}):
    errors.append(f"does not EXPOSE 15060/tcp: {cfg.get('ExposedPorts')}")
if cfg.get("Entrypoint") != ["/usr/bin/sip_trunk_exporter",
                             "--config.file=/etc/sip_trunk_exporter/config.toml"]:
    errors.append(f"unexpected ENTRYPOINT {cfg.get('Entrypoint')}")
hc = (img.get("Healthcheck") or cfg.get("Healthcheck") or {}).get("Test") or []
if not hc or hc[0] != "CMD" or not any("/-/healthy" in a for a in hc):
    errors.append(f"no HEALTHCHECK against /-/healthy: {hc}")
labels = cfg.get("Labels") or {}
for key, want in (("version", version), ("revision", revision)):
    got = labels.get("org.opencontainers.image." + key)
    if got != want:
        errors.append(f"label org.opencontainers.image.{key} is {got!r}, want {want!r}")
for key in ("source", "licenses"):
    if "org.opencontainers.image." + key not in labels:
        errors.append(f"no label org.opencontainers.image.{key}")
for e in errors:
    print("container-build: FAIL: image:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
}

smoke() {
  podman image exists "$image" || die "no image $image: run '$0 build' first"
  podman image exists "$demo_image" || die "no image $demo_image: run '$0 build' first"
  work=$(mktemp -d "${TMPDIR:-/tmp}/stx-container-smoke.XXXXXX")
  chmod 0755 "$work"
  trap cleanup EXIT
  trap 'exit 143' TERM INT HUP  # so that cleanup runs

  # What the image says about itself.
  podman image inspect "$image" >"$work/inspect.json"
  podman image inspect "$demo_image" >"$work/inspect-demo.json"
  check_image_config "$work/inspect.json" || die "image configuration"
  local size
  size=$(podman image inspect --format '{{.Size}}' "$image")
  log "image $image: $((size / 1000000)).$(((size % 1000000) / 100000)) MB ($size bytes), user $(podman image inspect --format '{{.Config.User}}' "$image")"
  [ "$size" -lt "$size_limit" ] || die "image is $size bytes, over the $size_limit limit"

  local ctr demo_ctr
  ctr=$(buildah from --pull=never --name "stx-smoke-$$" "$image")
  containers+=("$ctr")
  demo_ctr=$(buildah from --pull=never --name "stx-smoke-demo-$$" "$demo_image")
  containers+=("$demo_ctr")

  # --version inside the image: the revision was baked in from the build context's .git.
  local ver_out
  ver_out=$(buildah run --isolation chroot "$ctr" -- /usr/bin/sip_trunk_exporter --version)
  [ "$ver_out" = "sip_trunk_exporter, version $version (revision: $revision)" ] ||
    die "--version in the image printed '$ver_out', want version $version revision $revision"
  log "in the image: $ver_out"

  local sip_port media_port echo_port demo_port demo_media demo_echo dead_port http_port
  read -r sip_port media_port echo_port demo_port demo_media demo_echo dead_port http_port \
    < <(free_ports udp udp udp udp udp udp udp tcp)

  # Peers: SIPp on the host, and the compose stack's demo peer image run with its ENTRYPOINT.
  $bg sipp -sf tests/integration/peers/options_200.xml -i 127.0.0.1 -p "$sip_port" -bind_local \
    -mi 127.0.0.1 -mp "$media_port" -ci 127.0.0.1 -cp "$echo_port" -nostdin \
    >"$work/sipp.out" 2>&1 &
  pids+=($!)
  local -a demo_entrypoint
  mapfile -t demo_entrypoint < <(json_list "$work/inspect-demo.json" 'img["Config"]["Entrypoint"]')
  $bg buildah run --isolation chroot "$demo_ctr" -- "${demo_entrypoint[@]}" -i 127.0.0.1 \
    -p "$demo_port" -bind_local -mi 127.0.0.1 -mp "$demo_media" -ci 127.0.0.1 -cp "$demo_echo" \
    >"$work/demo-peer.out" 2>&1 &
  pids+=($!)

  cat >"$work/config.toml" <<EOF
[defaults]
interval = "1s"
timeout = "500ms"
failures_before_down = 1

[[target]]
name = "smoke-peer"
uri = "sip:127.0.0.1:$sip_port"

[[target]]
name = "demo-peer"
uri = "sip:127.0.0.1:$demo_port"

[[target]]
name = "smoke-dead"
uri = "sip:127.0.0.1:$dead_port"
EOF
  chmod 0644 "$work/config.toml"

  # The image's ENTRYPOINT, as the image's USER, plus a loopback listen address (host network).
  local -a entrypoint
  mapfile -t entrypoint < <(json_list "$work/inspect.json" 'img["Config"]["Entrypoint"]')
  $bg buildah run --isolation chroot -v "$work/config.toml:/etc/sip_trunk_exporter/config.toml:ro" \
    "$ctr" -- "${entrypoint[@]}" --web.listen-address="127.0.0.1:$http_port" \
    >"$work/exporter.log" 2>&1 &
  local run_pid=$!
  pids+=("$run_pid")

  local metrics="" deadline=$((SECONDS + 60)) ok=0
  up() { grep -Eq "^sip_target_up\{[^}]*target=\"$1\"[^}]*\} 1$" <<<"$metrics"; }
  refused() {
    grep -E '^sip_probe_failures_total\{' <<<"$metrics" | grep "target=\"$1\"" |
      grep 'reason="refused"' | grep -Eq ' [1-9][0-9.e+]*$'
  }
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$run_pid" 2>/dev/null || { cat "$work/exporter.log" >&2; die "the exporter in the container exited"; }
    if metrics=$(curl -sf --max-time 2 "http://127.0.0.1:$http_port/metrics") &&
      up smoke-peer && up demo-peer && refused smoke-dead; then
      ok=1
      break
    fi
    sleep 0.2
  done
  if [ "$ok" -ne 1 ]; then
    echo "--- /metrics:" >&2; grep '^sip_' <<<"$metrics" >&2 || true
    echo "--- exporter log:" >&2; cat "$work/exporter.log" >&2
    echo "--- demo peer:" >&2; cat "$work/demo-peer.out" >&2
    die "within 60 s /metrics did not show smoke-peer and demo-peer up and smoke-dead refused"
  fi
  grep -E '^sip_(target_up|probes_total)\{|^sip_probe_failures_total\{.*refused' <<<"$metrics" |
    sed 's/^/container-build: metrics: /' >&2
  grep -Eq '^sip_target_up\{[^}]*target="smoke-dead"[^}]*\} 0$' <<<"$metrics" || die "smoke-dead is not down"

  # Who runs it: the process that listens on the HTTP port.
  local exporter_pid uid capeff
  exporter_pid=$(listener_pid tcp "$http_port")
  [ -n "$exporter_pid" ] || die "cannot find the process listening on 127.0.0.1:$http_port"
  pids+=("$exporter_pid")
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$exporter_pid/status")
  capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$exporter_pid/status")
  [ "$uid" != 0 ] || die "the exporter runs as root"
  [ "$capeff" = 0000000000000000 ] || die "the exporter has capabilities $capeff"
  log "exporter pid $exporter_pid runs as uid $uid with no capabilities"

  # The image's HEALTHCHECK command, pointed at the smoke test's port: passes while the
  # exporter serves, fails where nothing listens.
  local hc_expr='(img.get("Healthcheck") or img["Config"]["Healthcheck"])["Test"][1:]'
  local -a hc hc_dead
  mapfile -t hc < <(json_list "$work/inspect.json" "$hc_expr" | sed "s#:15060/#:$http_port/#")
  mapfile -t hc_dead < <(json_list "$work/inspect.json" "$hc_expr" | sed "s#:15060/#:$dead_port/#")
  [ "${hc[*]}" != "${hc_dead[*]}" ] || die "cannot point the HEALTHCHECK at the test's port: ${hc[*]}"
  buildah run --isolation chroot "$ctr" -- "${hc[@]}" || die "HEALTHCHECK command failed: ${hc[*]}"
  if buildah run --isolation chroot "$ctr" -- "${hc_dead[@]}" 2>/dev/null; then
    die "HEALTHCHECK command passed against a closed port: ${hc_dead[*]}"
  fi
  log "HEALTHCHECK (${hc[*]}) passes, and fails against a closed port"

  # SIGHUP (docker kill -s HUP) reloads the configuration and it goes on serving.
  kill -HUP "$exporter_pid"
  deadline=$((SECONDS + 15))
  until grep -q 'msg="configuration reloaded"' "$work/exporter.log"; do
    kill -0 "$exporter_pid" 2>/dev/null || { cat "$work/exporter.log" >&2; die "SIGHUP ended the exporter"; }
    [ $SECONDS -lt $deadline ] || { cat "$work/exporter.log" >&2; die "no reload within 15 s of SIGHUP"; }
    sleep 0.2
  done
  curl -sf --max-time 2 "http://127.0.0.1:$http_port/-/healthy" >/dev/null || die "not serving after SIGHUP"
  log "SIGHUP: configuration reloaded, still serving"

  # SIGTERM stops it cleanly.
  kill -TERM "$exporter_pid"
  local rc=0
  deadline=$((SECONDS + 15))
  while kill -0 "$exporter_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  kill -0 "$exporter_pid" 2>/dev/null && die "the exporter did not stop within 15 s of SIGTERM"
  wait "$run_pid" || rc=$?
  [ "$rc" -eq 0 ] || { cat "$work/exporter.log" >&2; die "the exporter exited with $rc after SIGTERM"; }
  log "SIGTERM: the exporter stopped with exit code 0"

  # HTTPS (--web.config.file) with the image's OpenSSL and no openssl.cnf.
  local tls_port tls_pid
  read -r tls_port < <(free_ports tcp)
  mkdir "$work/tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/tls/server.key" \
    -out "$work/tls/server.crt" >/dev/null 2>&1 || die "openssl could not make a certificate"
  printf 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n' >"$work/tls/web.yml"
  chmod 0755 "$work/tls" && chmod 0644 "$work/tls"/*
  $bg buildah run --isolation chroot -v "$work/config.toml:/etc/sip_trunk_exporter/config.toml:ro" \
    -v "$work/tls:/etc/sip_trunk_exporter/tls:ro" "$ctr" -- "${entrypoint[@]}" \
    --web.config.file=/etc/sip_trunk_exporter/tls/web.yml --web.listen-address="127.0.0.1:$tls_port" \
    >"$work/exporter-tls.log" 2>&1 &
  run_pid=$!
  pids+=("$run_pid")
  deadline=$((SECONDS + 30))
  until curl -sf --max-time 2 --cacert "$work/tls/server.crt" "https://127.0.0.1:$tls_port/-/healthy" >/dev/null; do
    kill -0 "$run_pid" 2>/dev/null || { cat "$work/exporter-tls.log" >&2; die "the exporter with TLS exited"; }
    [ $SECONDS -lt $deadline ] || { cat "$work/exporter-tls.log" >&2; die "no HTTPS answer within 30 s"; }
    sleep 0.2
  done
  tls_pid=$(listener_pid tcp "$tls_port")
  pids+=("$tls_pid")
  kill -TERM "$tls_pid"
  rc=0
  wait "$run_pid" || rc=$?
  [ "$rc" -eq 0 ] || die "the exporter with TLS exited with $rc after SIGTERM"
  log "HTTPS with --web.config.file works in the image"
  log "PASS: image $image ($size bytes) probed SIPp and the demo peer image on loopback from inside the container"
}

t_start=$SECONDS
case "$cmd" in
  rootfs) make_rootfs; echo "$rootfs_tar" ;;
  base) make_base ;;
  build) make_base; build_images ;;
  smoke) smoke ;;
  all) make_base; build_images; smoke ;;
esac
[ "$cmd" = rootfs ] || log "$cmd done in $((SECONDS - t_start)) s"
