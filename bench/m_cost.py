"""1. Probe cost: CPU per probe of the exporter, SIPp, the floor and sipsak at the same rates.

CPU is utime+stime of the process from /proc over a steady window after warm-up.
The exporter probes `rate` targets each at a 1 s interval; SIPp sends `rate` OPTIONS/s;
the floor (bench/floor.cc) sends `rate` prebuilt OPTIONS/s to as many targets, one
sendmmsg per 1 ms tick on one connected socket, and only counts the answers (recvmmsg);
sipsak runs one process per probe in a loop, paced to at most the rate. Wakeups are the
voluntary context switches of all the process's threads in the window.
"""

import re
import resource
import subprocess
import time

import exposition
from exporter import Exporter
from peers import Responder, Sipp, sipsak_argv, sipsak_once
from procs import BenchError, Skip, context_switches, cpu_seconds
from report import DASH, Row, rate, us, verdict

NAME = "cost"
TITLE = "1 Probe cost (CPU per probe)"
PARAMS = {
    "full": {"rates": [1000, 5000, 10000, 50000], "warm": 4, "window": 10,
             "floor_warm": 2, "floor_window": 10, "sipsak_rates": [1000],
             "repeated_rates": [5000, 10000], "reps": 3},
    # Quick checks that the bench works, not figures: one interval of warm-up is enough.
    "quick": {"rates": [100, 1000], "warm": 1, "window": 2, "floor_warm": 0.5,
              "floor_window": 1, "sipsak_rates": [100], "repeated_rates": [1000], "reps": 2},
}
# Issue 20: at most 1.5x the floor at 10k/s, cheaper than SIPp at 5k/s and 10k/s.
TARGET_FLOOR_RATIO = 1.5
FLOOR_TARGET_RATES = (10000,)
SIPP_TARGET_RATES = (5000, 10000)
FLOOR_TICK_US = 1000


def per_probe(before, after, probes):
    """CPU per probe from two (user, system) readings, in total and split."""
    user, system = after[0] - before[0], after[1] - before[1]
    return {"cpu_s": user + system, "cpu_per_probe_s": (user + system) / probes,
            "user_per_probe_s": user / probes, "sys_per_probe_s": system / probes}


def exporter_cost(ctx, procs, probes_per_s, warm, window):
    responder = Responder(procs, ctx.responder_bin, name="responder-exporter-%d" % probes_per_s)
    responder.start()
    exp = Exporter(ctx, procs, "exporter-%d" % probes_per_s, probes_per_s, responder.uri,
                   {"interval": "1s", "timeout": "900ms"}).start()
    time.sleep(warm)  # first probes are spread over one interval
    t_a = time.monotonic()
    before = exp.metrics()
    cpu0, sw0, c0 = cpu_seconds(exp.pid), context_switches(exp.pid), time.monotonic()
    time.sleep(window)
    cpu1, sw1, c1 = cpu_seconds(exp.pid), context_switches(exp.pid), time.monotonic()
    t_b = time.monotonic()
    after = exp.metrics()
    exp.stop()
    counts = responder.stop()
    probes = exposition.total(after, "sip_probes_total") - exposition.total(before,
                                                                             "sip_probes_total")
    failed = (exposition.total(after, "sip_probes_total", result="failure") -
              exposition.total(before, "sip_probes_total", result="failure"))
    if probes <= 0:
        raise BenchError("exporter finished no probes at %d/s" % probes_per_s)
    # Counters are read at the start of each scrape, so the request instants bound the span.
    achieved = probes / (t_b - t_a)
    out = {"scheduled_per_s": probes_per_s, "achieved_per_s": achieved,
           "window_s": c1 - c0, "probes_in_window": achieved * (c1 - c0),
           "failed_fraction": failed / probes, "responder": counts,
           "wakeups_per_s": (sw1[0] - sw0[0]) / (c1 - c0),
           "involuntary_per_s": (sw1[1] - sw0[1]) / (c1 - c0)}
    out.update(per_probe(cpu0, cpu1, achieved * (c1 - c0)))
    return out


def sipp_cost(ctx, procs, probes_per_s, warm, window):
    responder = Responder(procs, ctx.responder_bin, name="responder-sipp-%d" % probes_per_s)
    responder.start()
    sipp = Sipp(procs, ctx.scenario, probes_per_s, responder.port, warm + window + 2,
                procs.logdir, name="sipp-%d" % probes_per_s).start()
    time.sleep(warm)
    e0 = time.time()
    pid = sipp.proc.pid
    cpu0, sw0, c0 = cpu_seconds(pid), context_switches(pid), time.monotonic()
    time.sleep(window)
    if not sipp.proc.alive():
        raise BenchError("sipp exited during the window: %s" % sipp.proc.tail())
    cpu1, sw1, c1 = cpu_seconds(pid), context_switches(pid), time.monotonic()
    e1 = time.time()
    time.sleep(1.2)  # one more statistics row past the window
    sipp.stop()
    counts = responder.stop()
    c = sipp.counts_between(e0 - 1, e1 + 1)
    if c["created"] <= 0 or c["seconds"] <= 0:
        raise BenchError("sipp sent no OPTIONS at %d/s" % probes_per_s)
    sent = c["created"] / c["seconds"]
    out = {"scheduled_per_s": probes_per_s, "achieved_per_s": sent, "window_s": c1 - c0,
           "failed_fraction": 1 - c["succeeded"] / c["created"], "stats": c,
           "responder": counts, "wakeups_per_s": (sw1[0] - sw0[0]) / (c1 - c0),
           "involuntary_per_s": (sw1[1] - sw0[1]) / (c1 - c0)}
    out.update(per_probe(cpu0, cpu1, sent * (c1 - c0)))
    return out


def floor_cost(ctx, procs, probes_per_s, warm, window):
    """The floor at `probes_per_s` on as many targets; it measures its own window."""
    responder = Responder(procs, ctx.responder_bin, name="responder-floor-%d" % probes_per_s)
    responder.start()
    floor = procs.start("floor-%d" % probes_per_s,
                        [ctx.floor_bin, "--address", responder.address, "--port", responder.port,
                         "--targets", probes_per_s, "--rate", probes_per_s,
                         "--tick-us", FLOOR_TICK_US, "--warm", warm, "--window", window])
    try:
        floor.popen.wait(timeout=warm + window + 10)
    except subprocess.TimeoutExpired:
        raise BenchError("the floor did not finish in %.0f s" % (warm + window + 10))
    code = floor.stop()
    counts = responder.stop()
    m = dict((k, float(v)) for k, v in re.findall(r"(\w+)=([0-9.]+)", floor.stdout()))
    if code != 0 or not m.get("sent"):
        raise BenchError("the floor exited with %s and sent nothing: %s" % (code, floor.tail()))
    span = m["window_s"]
    out = {"scheduled_per_s": probes_per_s, "achieved_per_s": m["sent"] / span,
           "window_s": span, "failed_fraction": max(0.0, 1 - m["answered"] / m["sent"]),
           "wakeups_per_s": m["nvcsw"] / span, "involuntary_per_s": m["nivcsw"] / span,
           "timer_ticks_per_s": m["wakeups"] / span,
           "syscalls_per_probe": (m["wakeups"] + m["send_calls"] + m["recv_calls"]) / m["sent"],
           "floor": m, "responder": counts}
    out.update(per_probe((0, 0), (m["user_s"], m["sys_s"]), m["sent"]))
    return out


def sipsak_cost(ctx, procs, probes_per_s, window):
    """Sequential sipsak runs for `window` s, at most `probes_per_s`; CPU from RUSAGE_CHILDREN."""
    responder = Responder(procs, ctx.responder_bin, name="responder-sipsak-%d" % probes_per_s)
    responder.start()
    argv = sipsak_argv(responder.uri)
    gap = 1.0 / probes_per_s
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    ok = runs = 0
    next_due = start
    while time.monotonic() - start < window and runs < probes_per_s * window:
        now = time.monotonic()
        if now < next_due:
            time.sleep(next_due - now)
        next_due += gap
        ok += sipsak_once(argv).rc == 0
        runs += 1
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    responder.stop()
    if ok == 0:
        raise BenchError("no sipsak probe succeeded")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"scheduled_per_s": probes_per_s, "achieved_per_s": runs / elapsed, "runs": runs,
            "ok": ok, "cpu_s": cpu, "cpu_per_probe_s": cpu / runs}


def try_tool(fn, *args):
    """fn(*args), or a string saying why it could not run."""
    try:
        return fn(*args)
    except Skip as e:
        return "skipped: %s" % e


def median_run(runs):
    """The run whose CPU per probe is the median (the lower middle of an even count), with
    every run's figure; a skipped tool (a string) stays what it said."""
    done = [r for r in runs if isinstance(r, dict)]
    if len(done) < len(runs):
        return next(r for r in runs if not isinstance(r, dict))
    mid = dict(sorted(done, key=lambda r: r["cpu_per_probe_s"])[(len(done) - 1) // 2])
    mid["runs_cpu_per_probe_s"] = [r["cpu_per_probe_s"] for r in done]
    return mid


def run(ctx):
    p = PARAMS["quick" if ctx.quick else "full"]
    raw = {"exporter": [], "sipp": [], "floor": [], "sipsak": []}
    rows = []
    for r in p["rates"]:
        # A virtual machine's CPU time per probe varies by +-10% from one minute to the next:
        # at the rates with targets the three subjects take turns, and each shows its median.
        reps = p["reps"] if r in p["repeated_rates"] else 1
        runs = {"exporter": [], "sipp": [], "floor": []}
        sipsak = None
        for rep in range(reps):
            with ctx.procs("cost-%d-%d" % (r, rep)) as procs:
                runs["exporter"].append(exporter_cost(ctx, procs, r, p["warm"], p["window"]))
                runs["sipp"].append(try_tool(sipp_cost, ctx, procs, r, p["warm"], p["window"]))
                # Its requests are built before its clock starts: a shorter warm-up will do.
                runs["floor"].append(floor_cost(ctx, procs, r, p["floor_warm"], p["floor_window"]))
                if rep == 0 and r in p["sipsak_rates"]:
                    sipsak = try_tool(sipsak_cost, ctx, procs, r, p["window"])
        exp, sipp, floor = (median_run(runs[k]) for k in ("exporter", "sipp", "floor"))
        raw["exporter"].append(exp)
        raw["sipp"].append(sipp)
        raw["floor"].append(floor)
        raw["sipsak"].append(sipsak)
        rows.append(cost_row(r, exp, sipp, floor, sipsak))
    return rows, raw


def sustained(r):
    """The subject kept the rate: at least 90% of it, and at most 5% of probes failed."""
    return r["achieved_per_s"] >= 0.9 * r["scheduled_per_s"] and r["failed_fraction"] <= 0.05


def subject_cell(r, what):
    # The split shows how much is the kernel's per-packet work, which every sender pays.
    cell = "%s = user %s + sys %s (%s %s, %.0f%% failed, %s wakeups)" % (
        us(r["cpu_per_probe_s"]), us(r["user_per_probe_s"]), us(r["sys_per_probe_s"]),
        rate(r["achieved_per_s"]), what, max(0.0, 100 * r["failed_fraction"]),
        rate(r["wakeups_per_s"]))
    runs = r.get("runs_cpu_per_probe_s", [])
    if len(runs) > 1:
        cell = "median of %d runs (%.1f-%.1f us): %s" % (len(runs), 1e6 * min(runs),
                                                          1e6 * max(runs), cell)
    return cell if sustained(r) else cell + ", rate not sustained"


def cost_row(r, exp, sipp, floor, sipsak):
    """CPU per probe: the exporter per probe finished, SIPp per OPTIONS sent, the floor per
    OPTIONS sent; each compared with the exporter's as a ratio."""
    e_us = exp["cpu_per_probe_s"]
    f_us = floor["cpu_per_probe_s"]
    floor_ratio = e_us / f_us
    exp_cell = subject_cell(exp, "finished") + "; %.2fx the floor" % floor_ratio
    floor_cell = subject_cell(floor, "sent")
    checks, targets = [], []
    if r in FLOOR_TARGET_RATES:
        targets.append("<= %.1fx the floor" % TARGET_FLOOR_RATIO)
        checks.append(sustained(exp) and sustained(floor) and floor_ratio <= TARGET_FLOOR_RATIO)
    if isinstance(sipp, dict):
        sipp_ratio = e_us / sipp["cpu_per_probe_s"]
        exp_cell += ", %.2fx SIPp" % sipp_ratio
        sipp_cell = subject_cell(sipp, "sent")
        if r in SIPP_TARGET_RATES:
            targets.append("cheaper than SIPp")
            checks.append(sustained(exp) and sipp_ratio < 1)
    else:
        sipp_cell = sipp or DASH
    if isinstance(sipsak, dict):
        sipsak_cell = "%s (%s achieved, one process per probe)" % (
            us(sipsak["cpu_per_probe_s"]), rate(sipsak["achieved_per_s"]))
    else:
        sipsak_cell = sipsak or DASH
    return Row(TITLE, "%s scheduled" % rate(r), exp_cell, sipp_cell, sipsak_cell,
               "; ".join(targets) or DASH, verdict(all(checks)) if checks else "info",
               floor=floor_cell)
