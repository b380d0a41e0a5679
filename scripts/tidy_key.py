#!/usr/bin/python3
"""Prints the key under which scripts/tidy.sh remembers that clang-tidy found nothing in a file.

    scripts/tidy_key.py BUILD_DIR FILE

The key is a hash of everything clang-tidy's verdict depends on: the file preprocessed with
its comments (NOLINT) and every header it includes, its compile flags, both .clang-tidy files,
tidy.sh itself and clang-tidy's version. The checkout's own path is taken out, so a fresh clone
finds what another clone learned. Prints nothing (the file is then always checked) when the file
is not in BUILD_DIR's compilation database or cannot be preprocessed.
"""
import hashlib
import json
import os
import shlex
import subprocess
import sys


def command_of(db_dir, path):
    with open(os.path.join(db_dir, "compile_commands.json"), encoding="utf-8") as f:
        for entry in json.load(f):
            if os.path.abspath(entry["file"]) == path:
                return entry["directory"], shlex.split(entry["command"])
    return None, None


def preprocess_args(args):
    """The compile command with -o dropped and -c turned into -E -C (comments kept)."""
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a == "-c":
            out += ["-E", "-C"]
        else:
            out.append(a)
    return out


def main():
    db_dir, path = sys.argv[1], os.path.abspath(sys.argv[2])
    root = os.getcwd().encode()
    directory, args = command_of(db_dir, path)
    if args is None:
        return 0
    args = preprocess_args(args)
    run = subprocess.run(args, cwd=directory, capture_output=True, check=False)
    if run.returncode != 0:
        return 0
    tidy = subprocess.run([os.environ.get("TIDY", "clang-tidy"), "--version"],
                          capture_output=True, check=False).stdout
    h = hashlib.sha256()
    for part in (tidy, " ".join(args).encode(), run.stdout):
        h.update(part.replace(root, b"@ROOT@"))
        h.update(b"\0")
    for name in (".clang-tidy", "tests/.clang-tidy", "scripts/tidy.sh"):
        with open(name, "rb") as f:
            h.update(f.read())
    print(h.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
