"""Results: table rows, number formatting, the machine, and BENCHMARKS.md."""

import datetime
import os
import platform
import subprocess

DASH = "-"


class Row:
    """One line of the results table. verdict: met, missed, info, skipped or error."""

    def __init__(self, measurement, load, exporter, sipp=DASH, sipsak=DASH, target=DASH,
                 verdict="info", floor=DASH):
        self.measurement = measurement
        self.load = load
        self.exporter = exporter
        self.sipp = sipp
        self.floor = floor  # the bench's floor prober (bench/floor.cc), where compared
        self.sipsak = sipsak
        self.target = target
        self.verdict = verdict

    def cells(self):
        return [self.measurement, self.load, self.exporter, self.sipp, self.floor, self.sipsak,
                self.target, self.verdict]

    def as_dict(self):
        return dict(zip(HEADER, self.cells()))


HEADER = ["Measurement", "Load", "sip_trunk_exporter", "SIPp", "Floor", "sipsak", "Target",
          "Verdict"]


def verdict(ok):
    return "met" if ok else "missed"


def us(seconds):
    return DASH if seconds is None else "%.1f us" % (seconds * 1e6)


def ms(seconds, digits=2):
    if seconds is None:
        return "n/a"
    if seconds == float("inf"):
        return "> 1 s"
    return "%.*f ms" % (digits, seconds * 1e3)


def secs(seconds):
    return "%.2f s" % seconds


def duration(seconds):
    return "%d min" % round(seconds / 60) if seconds >= 120 else "%d s" % seconds


def size(n):
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return "%.1f %s" % (n / div, unit)
    return "%d B" % n


def count(n):
    return "{:,}".format(int(n))


def rate(per_second):
    if per_second >= 1000:
        return "%.1fk/s" % (per_second / 1000)
    return "%.0f/s" % per_second


def markdown_table(rows):
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        lines.append("| " + " | ".join(c.replace("|", "/") for c in row.cells()) + " |")
    return "\n".join(lines)


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    return {"cpu": model, "nproc": os.cpu_count(), "ram_gib": round(mem_kib / 1048576, 1),
            "kernel": platform.release()}


def commit(source_dir):
    """`git rev-parse --short HEAD`, with "-dirty" when the tree has changes."""
    def git(*args):
        return subprocess.run(["git", "--no-optional-locks", "-C", source_dir] + list(args),
                              capture_output=True, text=True).stdout.strip()
    rev = git("rev-parse", "--short", "HEAD") or "unknown"
    return rev + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def section(rows, info, notes):
    """The Markdown appended to BENCHMARKS.md for one run."""
    m = info["machine"]
    out = ["## %s, %s%s" % (info["date"], info["commit"], " (quick)" if info["quick"] else ""),
           "",
           "Machine: %s, %d CPUs, %.1f GiB RAM, Linux %s." % (m["cpu"], m["nproc"], m["ram_gib"],
                                                             m["kernel"]),
           "",
           markdown_table(rows),
           ""]
    if notes:
        out += ["Notes:", ""] + ["* " + n for n in notes] + [""]
    return "\n".join(out) + "\n"


BENCHMARKS_INTRO = """# Benchmarks

Results of `bench/run` (see [bench/README.md](bench/README.md) for what each measurement
does and how to read the table). Each run appends one section: newest last. Figures come
from shared or busy machines as often as not; compare runs on the same machine only.

"""


def append_benchmarks(path, text):
    new = not os.path.exists(path)
    with open(path, "a") as f:
        if new:
            f.write(BENCHMARKS_INTRO)
        f.write("\n" + text)
