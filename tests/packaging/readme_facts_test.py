#!/usr/bin/python3
"""packaging.readme_facts: small facts README states about building and packaging, held to the
files that make them true (issue 18's leftovers), without building anything:

- README's `docker build` passes `--build-arg REVISION=` from the same `git rev-parse` as
  CMakeLists.txt bakes into `--version`, and the Dockerfile puts that ARG into the
  org.opencontainers.image.revision label, so the label matches `--version`;
- zlib is a build dependency (gzip-streamed /metrics): zlib1g-dev is in scripts/deps/build.txt
  (what README's build and the Dockerfile install), the top-level CMakeLists.txt looks for
  ZLIB and links the exporter with it, and libdeflate, which it replaced, is gone from both;
- README's sentence about CSeq says it is counted per address, as probes/transaction.cc does
  (one transaction per address), not random.

usage: readme_facts_test.py SOURCE_DIR
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stxtest as t  # noqa: E402


def read(source, path):
    with open(os.path.join(source, path)) as f:
        return f.read()


def packages(text):
    """Package names of a scripts/deps list: comments dropped, whitespace separated."""
    return {word for line in text.splitlines() for word in line.split("#")[0].split()}


def check_docker_revision(checks, source):
    readme = read(source, "README.md")
    builds = [line for line in readme.splitlines() if line.lstrip().startswith("docker build")]
    checks.check(bool(builds), "README shows a `docker build` command")
    cmake_rev = re.search(r"git rev-parse ([^)\n]*?)\s*HEAD", read(source, "CMakeLists.txt"))
    checks.check(cmake_rev is not None, "CMakeLists.txt bakes `git rev-parse ... HEAD` into --version")
    for line in builds:
        m = re.search(r'--build-arg REVISION="\$\(git rev-parse ([^)]*?)\s*HEAD\)"', line)
        checks.check(m is not None, "README's docker build passes --build-arg REVISION from git", line)
        if m and cmake_rev:
            checks.check(m.group(1) == cmake_rev.group(1),
                         "README's REVISION is the revision --version shows",
                         f"README: git rev-parse {m.group(1)}; CMake: git rev-parse {cmake_rev.group(1)}")
    dockerfile = read(source, "Dockerfile")
    runtime = dockerfile[dockerfile.rfind("\nFROM "):]  # the last stage: the image's labels
    checks.check(re.search(r"^ARG REVISION\b", runtime, re.M) is not None,
                 "the Dockerfile's runtime stage declares ARG REVISION")
    checks.check('org.opencontainers.image.revision="${REVISION}"' in runtime,
                 "the revision label is the REVISION build arg")


def check_zlib_builds_the_exporter(checks, source):
    build = packages(read(source, "scripts/deps/build.txt"))
    checks.check("zlib1g-dev" in build, "zlib1g-dev is a build dependency (build.txt)")
    checks.check("libdeflate-dev" not in build, "libdeflate-dev is no longer a build dependency")
    cmake = read(source, "CMakeLists.txt")
    checks.check("find_package(ZLIB" in cmake, "the top-level CMakeLists.txt looks for ZLIB")
    checks.check("ZLIB::ZLIB" in cmake, "the exporter links ZLIB::ZLIB")
    checks.check("libdeflate" not in cmake, "CMakeLists.txt no longer looks for libdeflate")
    readme = read(source, "README.md")
    checks.check("zlib" in readme, "README says /metrics is compressed with zlib")
    checks.check("libdeflate" not in readme, "README does not name libdeflate")


def check_cseq_sentence(checks, source):
    text = " ".join(read(source, "README.md").split())  # sentences span lines
    # "CSeq (how it is chosen)", not "CSeq (number and method)" of the matching rules.
    sentences = [s for s in re.split(r"(?<=[.;])\s", text) if re.search(r"CSeq \((?!number)", s)]
    checks.check(bool(sentences), "README says how CSeq is chosen (a `CSeq (...)` sentence)")
    for s in sentences:
        checks.check("CSeq (counted per address)" in s, "README: CSeq is counted per address", s)
        checks.check("random" not in s.split("CSeq", 1)[1].split(")", 1)[0],
                     "README does not call CSeq random", s)
    transaction = read(source, "probes/transaction.cc")
    checks.check("++t.cseq;" in transaction, "probes/transaction.cc counts CSeq up per transaction")


def main():
    if len(sys.argv) != 2:
        t.fail(__doc__)
    source = os.path.abspath(sys.argv[1])
    checks = t.Failures()
    check_docker_revision(checks, source)
    check_zlib_builds_the_exporter(checks, source)
    check_cseq_sentence(checks, source)
    checks.finish()


if __name__ == "__main__":
    main()
