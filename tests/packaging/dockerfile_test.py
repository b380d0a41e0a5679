#!/usr/bin/python3
"""packaging.dockerfile: the Dockerfile is the one the issue asks for, checked without building.

Runs everywhere (packaging.container builds and runs the image where podman is available):
- stages: `FROM debian:bookworm AS build` (or -slim), runtime `FROM scratch` or Debian slim;
  no other base, registry or local path; the build stage installs with
  scripts/install-deps.sh build (the README's packages);
- runtime: numeric non-root USER; EXPOSE 15060; ENTRYPOINT (exec form) the exporter with
  --config.file=/etc/sip_trunk_exporter/config.toml; HEALTHCHECK in exec form against
  /-/healthy on 15060 with a program the build stage puts into the runtime filesystem;
  OCI labels version, revision, source, licenses; ARG VERSION defaults to CMakeLists.txt's
  project version;
- every COPY source exists and is not excluded by .dockerignore; .dockerignore keeps .git
  (the build bakes `git rev-parse` into --version) and leaves build trees out.

usage: dockerfile_test.py SOURCE_DIR PROJECT_VERSION
"""

import fnmatch
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402


def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        current += (" " if current else "") + stripped
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def ignored(path, patterns):
    """Docker's .dockerignore matching, enough for plain patterns and ! exceptions."""
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        p = pattern.lstrip("!").strip("/")
        parts = path.split("/")
        hit = any(fnmatch.fnmatch("/".join(parts[:i]), p) for i in range(1, len(parts) + 1))
        if p.startswith("**/"):
            hit = hit or any(fnmatch.fnmatch(seg, p[3:]) for seg in parts)
        if hit:
            result = not negate
    return result


def main():
    if len(sys.argv) != 3:
        t.fail(__doc__)
    source, version = os.path.abspath(sys.argv[1]), sys.argv[2]
    checks = t.Failures()
    with open(os.path.join(source, "Dockerfile")) as f:
        ins = instructions(f.read())
    with open(os.path.join(source, ".dockerignore")) as f:
        ignore = [line.strip() for line in f if line.strip() and not line.startswith("#")]

    stages, current = [], None
    for word, args in ins:
        if word == "FROM":
            current = {"from": args, "ins": []}
            stages.append(current)
        elif current is not None:
            current["ins"].append((word, args))
    froms = [s["from"] for s in stages]
    checks.check(len(stages) >= 2, "multi-stage", str(froms))
    checks.check(re.fullmatch(r"debian:bookworm(-slim)? AS \w+", froms[0] or "") is not None,
                 "build stage: FROM debian:bookworm(-slim) AS NAME", froms[0])
    checks.check(froms[-1] in ("scratch", "debian:bookworm-slim"),
                 "runtime stage: FROM scratch or debian:bookworm-slim", froms[-1])
    checks.check(all(re.fullmatch(r"(debian:bookworm(-slim)?|scratch)( AS \w+)?", f)
                     for f in froms), "no other base image, registry or local path", str(froms))
    build_runs = " ".join(a for w, a in stages[0]["ins"] if w == "RUN")
    checks.check("scripts/install-deps.sh build" in build_runs,
                 "build stage installs with scripts/install-deps.sh build")

    runtime = dict()
    for word, args in stages[-1]["ins"]:
        runtime.setdefault(word, []).append(args)
    user = (runtime.get("USER") or [""])[-1]
    checks.check(re.fullmatch(r"[1-9]\d*(:\d+)?", user) is not None,
                 "runtime: numeric non-root USER", user)
    checks.check(any(re.search(r"\b15060(/tcp)?\b", e) for e in runtime.get("EXPOSE", [])),
                 "runtime: EXPOSE 15060", str(runtime.get("EXPOSE")))
    entry = json.loads((runtime.get("ENTRYPOINT") or ["[]"])[-1])
    checks.check(len(entry) >= 2 and entry[0].endswith("/sip_trunk_exporter") and
                 "--config.file=/etc/sip_trunk_exporter/config.toml" in entry,
                 "runtime: ENTRYPOINT the exporter with the config in /etc", str(entry))
    hc = (runtime.get("HEALTHCHECK") or [""])[-1]
    m = re.search(r"CMD (\[.*\])$", hc)
    hc_cmd = json.loads(m.group(1)) if m else []
    checks.check(any("127.0.0.1:15060/-/healthy" in a or "localhost:15060/-/healthy" in a
                     for a in hc_cmd), "runtime: HEALTHCHECK (exec form) against /-/healthy",
                 hc)
    if hc_cmd:
        checks.check(f"/rootfs{hc_cmd[0]}" in build_runs,
                     f"build stage puts the HEALTHCHECK program {hc_cmd[0]} into the image")
    labels = " ".join(runtime.get("LABEL", []))
    for key in ("version", "revision", "source", "licenses"):
        checks.check(f"org.opencontainers.image.{key}=" in labels, f"label {key}")
    args = dict(a.split("=", 1) for a in runtime.get("ARG", []) if "=" in a)
    checks.check(args.get("VERSION") == version,
                 f"ARG VERSION defaults to the project version {version}", args.get("VERSION"))
    checks.check(args.get("LICENSES") == "Apache-2.0", "ARG LICENSES defaults to Apache-2.0",
                 args.get("LICENSES"))

    for stage in stages:
        for word, a in stage["ins"]:
            if word != "COPY" or a.startswith("--from"):
                continue
            for src in a.split()[:-1]:
                if src == ".":
                    continue
                path = src.rstrip("/")
                checks.check(os.path.exists(os.path.join(source, path)) and
                             not ignored(path, ignore),
                             f"COPY {src}: exists, not in .dockerignore")
    checks.check(not ignored(".git/HEAD", ignore), ".dockerignore keeps .git")
    for build_dir in ("build/release/CMakeCache.txt", "build-x/CMakeCache.txt"):
        checks.check(ignored(build_dir, ignore), f".dockerignore leaves out {build_dir}")
    checks.finish()


if __name__ == "__main__":
    main()
