"""6. Loss resilience: false down transitions under 30% random loss, against a naive
single-probe checker.

The responder runs in a network namespace whose nftables input hook drops 30% of the
requests (`numgen random`); a second run drops 30% of the answers too. The exporter runs
in another namespace with the default timeout (5 s: transmissions at 0, 0.5, 1.5 and
3.5 s) and default hysteresis (down after 3 failed probes), at the smallest interval that
timeout allows (6 s), on enough targets for ~100k probes. A false down is an up -> down
transition (sip_target_up 1 -> 0), counted from the log. The naive checker pages on every
failed probe: its pages are (a) the exporter's failed probes, i.e. the same probe without
hysteresis, and (b) real sipsak runs (`-D 10`: the same four transmissions) every interval
from a few loops alongside.
"""

import time

import exposition
import logfmt
import shipped
from exporter import Exporter
from netns import PEER_ADDRESS, NetnsPair
from peers import Responder, SipsakLoop, sipsak_argv
from procs import BenchError, require_tool
from report import Row, count, duration, verdict

NAME = "loss"
TITLE = "6 Loss resilience (30% random loss)"
LOSS_PERCENT = 30
PARAMS = {
    "full": {"targets": 1000, "interval": 6, "timeout": 5, "sipsak_loops": 20,
             "runs": [("requests", False, 600), ("both directions", True, 180)]},
    "quick": {"targets": 20, "interval": 2, "timeout": 1, "sipsak_loops": 2,
              "runs": [("requests", False, 10), ("both directions", True, 6)]},
}


def shipped_params(quick):
    """--loss-settings shipped: deploy/config.toml's [defaults] as they are (interval,
    jitter, fast_interval, timeout, hysteresis, ...) on 1,000 targets, 10 minutes of 30%
    request loss (the issue's bound: no false down)."""
    s = shipped.settings()
    return {"targets": 20 if quick else 1000, "interval": s["interval"], "timeout": s["timeout"],
            "sipsak_loops": 2 if quick else 20, "defaults": shipped.exporter_defaults(),
            "label": "shipped settings",
            "runs": [("requests", False, 15 if quick else 600)]}


def one_run(ctx, procs, ns, p, label, both, seconds):
    tag = "loss-" + ("both" if both else "in")
    responder = Responder(procs, ctx.responder_bin, name="responder-" + tag,
                          address=PEER_ADDRESS, netns=ns.peer).start()
    ns.set_loss(responder.port, LOSS_PERCENT, both)
    if "defaults" in p:
        defaults = dict(p["defaults"])
    else:
        defaults = {"interval": "%ds" % p["interval"]}
        if p["timeout"] != 5:
            defaults["timeout"] = "%ds" % p["timeout"]
    exp = Exporter(ctx, procs, "exporter-" + tag, p["targets"], responder.uri, defaults,
                   netns=ns.prober).start()
    loop = SipsakLoop(sipsak_argv("sip:ping@%s:%d" % (PEER_ADDRESS, responder.port),
                                  timeout_factor=int(p["timeout"] * 2), netns=ns.prober),
                      p["sipsak_loops"], p["interval"])
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            loop.tick(time.monotonic())
            exp.check_alive()
            responder.check_alive()
            time.sleep(0.05)
        loop.finish(timeout=p["timeout"] * 2 + 3)
    finally:
        loop.finish(timeout=0)  # on error: kill what still runs
    text = exp.metrics()
    exp.stop()
    responder.stop()
    changes = logfmt.lines_with_msg(exp.proc.stderr(), "target state changed")
    probes = exposition.total(text, "sip_probes_total")
    failed = exposition.total(text, "sip_probes_total", result="failure")
    if probes == 0:
        raise BenchError("%s: the exporter finished no probe" % tag)
    if "label" in p:
        label = "%s, %s" % (label, p["label"])
    return {"label": label, "both_directions": both, "defaults": defaults, "seconds": seconds, "targets": p["targets"],
            "interval_s": p["interval"], "timeout_s": p["timeout"], "probes": probes,
            "failed_probes": failed,
            "false_downs": sum(1 for c in changes
                               if c.get("from") == "up" and c.get("to") == "down"),
            "first_verdict_down": sum(1 for c in changes
                                      if c.get("from") == "unknown" and c.get("to") == "down"),
            "state_changes_total": exposition.total(text, "sip_target_state_changes_total"),
            "sipsak_ok": loop.ok, "sipsak_failed": loop.failed}


def row(r):
    exp_cell = "%d false downs in %s probes (%s targets @ %gs for %s)" % (
        r["false_downs"], count(r["probes"]), count(r["targets"]), r["interval_s"],
        duration(r["seconds"]))
    if r["first_verdict_down"]:
        exp_cell += ", %d targets' first verdict down" % r["first_verdict_down"]
    exp_cell += "; without hysteresis: %s pages (%.2f%% of probes failed)" % (
        count(r["failed_probes"]), 100.0 * r["failed_probes"] / r["probes"])
    runs = r["sipsak_ok"] + r["sipsak_failed"]
    sipsak_cell = "%s pages in %s probes (%.2f%%)" % (
        count(r["sipsak_failed"]), count(runs), 100.0 * r["sipsak_failed"] / max(1, runs))
    return Row(TITLE, "loss on %s" % r["label"], exp_cell, sipsak=sipsak_cell,
               target="no false down", verdict=verdict(r["false_downs"] == 0))


def run(ctx):
    if getattr(ctx, "loss_settings", "bench") == "shipped":
        p = shipped_params(ctx.quick)
    else:
        p = PARAMS["quick" if ctx.quick else "full"]
    require_tool("sipsak")
    raw, rows = [], []
    with NetnsPair() as ns:
        for label, both, seconds in p["runs"]:
            with ctx.procs("loss-%s" % ("both" if both else "in")) as procs:
                r = one_run(ctx, procs, ns, p, label, both, seconds)
            raw.append(r)
            rows.append(row(r))
    return rows, raw
