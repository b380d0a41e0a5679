# sip_trunk_exporter container image.
#
#   docker build --build-arg REVISION="$(git rev-parse --short=12 HEAD)" -t sip_trunk_exporter .
#   docker run -d -p 15060:15060 -v "$PWD/my.toml:/etc/sip_trunk_exporter/config.toml:ro" sip_trunk_exporter
#
# Without Docker: scripts/container-build.sh builds this same file with buildah and smoke-tests
# the image. The build stage is Debian 12 with the packages of scripts/deps/build.txt (the
# README's); the runtime stage is `scratch` holding only the stripped binary, exactly the shared
# libraries it loads (found with ldd, so a new dependency is picked up by itself), CA
# certificates, passwd/group entries for the non-root user, the example config and
# busybox-static, whose `wget` is the HEALTHCHECK client (the exporter has no client mode and
# scratch has no curl). The exporter needs no capability: ICMP errors come back on its
# ordinary UDP socket.

# ---------------------------------------------------------------------------------------------
FROM debian:bookworm AS build

ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src

# The dependency layer only changes when the package lists do.
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY scripts/deps/ scripts/deps/
RUN bash scripts/install-deps.sh build \
 && apt-get install -y -qq --no-install-recommends busybox-static ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# The whole context, .git included: CMake bakes `git rev-parse` into --version.
COPY . .

# Configure, build, and stage the runtime filesystem in /rootfs, all in one layer so the
# object files never end up in an image layer.
RUN set -eux; \
    cmake -S . -B /tmp/build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTX_BUILD_TESTS=OFF; \
    cmake --build /tmp/build -j"$(nproc)"; \
    install -D -s -m 0755 /tmp/build/sip_trunk_exporter /rootfs/usr/bin/sip_trunk_exporter; \
    rm -rf /tmp/build; \
    if ldd /rootfs/usr/bin/sip_trunk_exporter | grep -q 'not found'; then \
      ldd /rootfs/usr/bin/sip_trunk_exporter; exit 1; \
    fi; \
    for lib in $(ldd /rootfs/usr/bin/sip_trunk_exporter \
                 | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do \
      cp -L --parents "$lib" /rootfs/; \
    done; \
    install -D -m 0755 /bin/busybox /rootfs/usr/bin/busybox; \
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt; \
    install -D -m 0644 config/example.toml /rootfs/etc/sip_trunk_exporter/config.toml; \
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nsip_trunk_exporter:x:65532:65532:sip_trunk_exporter:/nonexistent:/usr/sbin/nologin\n' \
      > /rootfs/etc/passwd; \
    printf 'root:x:0:\nsip_trunk_exporter:x:65532:\n' > /rootfs/etc/group; \
    printf 'hosts: files dns\n' > /rootfs/etc/nsswitch.conf; \
    install -d -m 1777 /rootfs/tmp; \
    chroot /rootfs /usr/bin/sip_trunk_exporter --version; \
    chroot /rootfs /usr/bin/sip_trunk_exporter --config.check \
      --config.file=/etc/sip_trunk_exporter/config.toml

# ---------------------------------------------------------------------------------------------
FROM scratch

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE_URL=
ARG LICENSES=Apache-2.0

COPY --from=build /rootfs/ /

LABEL org.opencontainers.image.title="sip_trunk_exporter" \
      org.opencontainers.image.description="Prometheus exporter that probes SIP trunks with OPTIONS" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="${LICENSES}" \
      org.opencontainers.image.base.name="scratch"

USER 65532:65532
EXPOSE 15060/tcp

# Checks the default listen port; with another --web.listen-address, or TLS from
# --web.config.file, override it (docker run --health-cmd ...). No `wget -T`: Debian 12's
# busybox is built without FEATURE_WGET_TIMEOUT and crashes on it; --timeout bounds the check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:15060/-/healthy"]

# Heap in transparent huge pages, as the systemd unit does (README "Running more than one").
ENV GLIBC_TUNABLES=glibc.malloc.hugetlb=1
ENTRYPOINT ["/usr/bin/sip_trunk_exporter", "--config.file=/etc/sip_trunk_exporter/config.toml"]
