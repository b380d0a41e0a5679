"""The benchmark driver: runs the measurements, prints one table, records the results.

  /usr/bin/python3 bench/driver.py [--quick] [--no-append] [--only cost,scale,...]
      [--loss-settings bench|shipped] [--exporter PATH] [--responder PATH] [--floor PATH]
      [--out-dir DIR]

bench/run installs what is needed, builds the release binaries and calls this. Standard
library only. Exit status: 0, 1 if a measurement broke (crash, no data), 130 on Ctrl-C;
never because a figure missed its target.
"""

import argparse
import json
import os
import signal
import sys
import time
import traceback

import m_cost
import m_detect
import m_loss
import m_rtt
import m_scale
import m_scrape
import m_silence
import report
from procs import Procs, Skip
from report import Row

MEASUREMENTS = [m_cost, m_scale, m_scrape, m_rtt, m_detect, m_loss, m_silence]
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOTES = [
    "CPU per probe: utime+stime of the process (/proc/PID/stat) over a steady window after "
    "warm-up, divided by the probes completed in it; all peers on loopback.",
    "Lateness (actual minus planned probe start) comes from the exporter's "
    "sip_exporter_schedule_lateness_seconds histogram: p50/p99 interpolated inside buckets, "
    "max is the upper bound of the highest non-empty bucket.",
    "Scrape times: median of the repetitions, request sent to last byte, plain and gzip.",
    "RTT error: reported RTT minus (final response - first request) on a dumpcap capture of "
    "lo, paired by Call-ID.",
    "Loss: a false down is sip_target_up going 1 -> 0; a naive checker pages on every failed "
    "probe.",
    "Silence to email: deploy/config.toml's [defaults], deploy/prometheus's intervals, the "
    "rules and alerts/alertmanager.yml's timers as shipped; SIGSTOPped peers, email times from "
    "the SMTP sink's files.",
]


class Ctx:
    def __init__(self, args, workdir):
        self.quick = args.quick
        self.loss_settings = args.loss_settings
        self.exporter_bin = os.path.abspath(args.exporter)
        self.responder_bin = os.path.abspath(args.responder)
        self.floor_bin = os.path.abspath(args.floor)
        self.scenario = os.path.join(SOURCE_DIR, "bench", "sipp_options_uac.xml")
        self.workdir = workdir
        self.notes = []  # findings worth a line under the table

    def procs(self, name):
        return Procs(os.path.join(self.workdir, name))


def parse_args(argv):
    names = [m.NAME for m in MEASUREMENTS]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run with tiny counts")
    ap.add_argument("--no-append", action="store_true", help="do not append to BENCHMARKS.md")
    ap.add_argument("--loss-settings", choices=["bench", "shipped"], default="bench",
                    help="loss: the bench's settings (interval 6s, timeout 5s, both runs) or "
                         "deploy/config.toml's [defaults] (10 min of request loss)")
    ap.add_argument("--only", default=",".join(names),
                    help="comma-separated measurements to run: " + ", ".join(names))
    release = os.path.join(SOURCE_DIR, "build", "release")
    ap.add_argument("--exporter", default=os.path.join(release, "sip_trunk_exporter"))
    ap.add_argument("--responder", default=os.path.join(release, "bench", "sip_bench_responder"))
    ap.add_argument("--floor", default=os.path.join(release, "bench", "sip_bench_floor"))
    ap.add_argument("--out-dir", default=os.path.join(release, "bench-results"))
    ap.add_argument("--benchmarks-file", default=os.path.join(SOURCE_DIR, "BENCHMARKS.md"))
    args = ap.parse_args(argv)
    wanted = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        ap.error("unknown measurement %s; known: %s" % (", ".join(unknown), ", ".join(names)))
    args.selected = [m for m in MEASUREMENTS if m.NAME in wanted]
    for path in (args.exporter, args.responder, args.floor):
        if not os.access(path, os.X_OK):
            ap.error("%s is not an executable (build the release preset first)" % path)
    return args


def run_one(m, ctx):
    """(rows, raw, broke) of one measurement; a Skip or an error becomes a row."""
    try:
        rows, raw = m.run(ctx)
        return rows, raw, False
    except Skip as e:
        return [Row(m.TITLE, "-", "skipped: %s" % e, verdict="skipped")], {"skipped": str(e)}, False
    except Exception as e:  # the bench broke: say where, keep running the others
        tb = traceback.format_exc()
        sys.stderr.write(tb)
        return ([Row(m.TITLE, "-", "error: %s" % str(e).replace("\n", " ")[:300],
                     verdict="error")], {"error": str(e), "traceback": tb}, True)


def give_back(paths):
    """Under sudo, hands what the run wrote back to the user who started bench/run."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if os.geteuid() != 0 or not uid or not gid:
        return
    for top in paths:
        if os.path.isfile(top):
            os.chown(top, int(uid), int(gid))
            continue
        for root, dirs, files in os.walk(top):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, int(uid), int(gid))


def on_sigterm(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = os.path.join(os.path.abspath(args.out_dir), "run-" + stamp)
    os.makedirs(workdir, exist_ok=True)
    ctx = Ctx(args, workdir)
    info = {"date": report.now_utc(), "commit": report.commit(SOURCE_DIR),
            "machine": report.machine(), "quick": args.quick,
            "exporter": ctx.exporter_bin}
    rows, raw, broken, interrupted = [], {}, [], False
    started = time.monotonic()
    try:
        for m in args.selected:
            print("== %s" % m.TITLE, flush=True)
            t = time.monotonic()
            new_rows, raw[m.NAME], broke = run_one(m, ctx)
            rows.extend(new_rows)
            if broke:
                broken.append(m.NAME)
            for r in new_rows:
                print("   %s | %s | %s" % (r.load, r.exporter, r.verdict), flush=True)
            info.setdefault("measurement_seconds", {})[m.NAME] = round(time.monotonic() - t)
            print("   (%.0f s)" % (time.monotonic() - t), flush=True)
    except KeyboardInterrupt as e:
        interrupted = True
        traceback.print_exc()
        print("\ninterrupted (%s); every process the bench started has been stopped"
              % (e or "Ctrl-C"), flush=True)
    info["seconds"] = round(time.monotonic() - started)
    print()
    print(report.markdown_table(rows))
    for note in ctx.notes:
        print("note: " + note)
    results = {"info": info, "rows": [r.as_dict() for r in rows], "raw": raw,
               "notes": ctx.notes}
    path = os.path.join(workdir, "results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    print("\nraw results: %s (logs and captures alongside)" % path)
    if not interrupted and not args.no_append and rows:
        report.append_benchmarks(args.benchmarks_file, report.section(rows, info,
                                                                      NOTES + ctx.notes))
        print("appended to %s" % args.benchmarks_file)
    give_back([os.path.abspath(args.out_dir), args.benchmarks_file])
    if interrupted:
        return 130
    if broken:
        print("the bench broke in: %s" % ", ".join(broken), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
