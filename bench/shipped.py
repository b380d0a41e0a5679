"""The settings the project ships (issue 16), read from the files a user deploys:
deploy/config.toml's [defaults] (the exporter), deploy/prometheus/prometheus.yml (scrape
and evaluation intervals), alerts/sip_trunk_exporter.rules.yml (SipTrunkDown's `for`)
and alerts/alertmanager.yml (the route's timers). Standard library only: TOML with
tomllib, the few YAML values by pattern.
"""

import os
import re
import tomllib

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEPLOY_CONFIG = os.path.join(SOURCE_DIR, "deploy", "config.toml")
PROMETHEUS_YML = os.path.join(SOURCE_DIR, "deploy", "prometheus", "prometheus.yml")
RULES_FILE = os.path.join(SOURCE_DIR, "alerts", "sip_trunk_exporter.rules.yml")
ALERTMANAGER_YML = os.path.join(SOURCE_DIR, "alerts", "alertmanager.yml")


UNIT_FILE = os.path.join(SOURCE_DIR, "deploy", "sip_trunk_exporter.service")


def unit_environment():
    """The Environment= settings of the shipped systemd unit, which the bench gives the
    exporter too, so that it measures the exporter as it is deployed."""
    env = {}
    with open(UNIT_FILE) as f:
        for line in f:
            m = re.fullmatch(r"Environment=(\w+)=(\S*)\s*", line)
            if m:
                env[m.group(1)] = m.group(2)
    return env


def seconds(text):
    """'15s', '500ms', '1m30s', '0s' -> seconds."""
    total, rest = 0.0, str(text).strip().strip("'\"")
    for number, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", rest):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    if not re.fullmatch(r"([0-9.]+(ms|s|m|h))+", rest):
        raise ValueError("not a duration: %r" % text)
    return total


def exporter_defaults():
    """deploy/config.toml's [defaults] as a dict (values as TOML gives them)."""
    with open(DEPLOY_CONFIG, "rb") as f:
        return dict(tomllib.load(f)["defaults"])


def _yaml_value(path, key, after=None):
    with open(path) as f:
        text = f.read()
    if after:
        text = text[text.index(after):]
    m = re.search(r"^\s*%s:\s*'?([^'\s#]+)" % re.escape(key), text, re.M)
    if not m:
        raise ValueError("%s sets no %s" % (path, key))
    return m.group(1)


def settings():
    """Every shipped setting of the silence-to-email chain, durations in seconds."""
    d = exporter_defaults()
    interval = seconds(d["interval"])
    jitter = d.get("interval_jitter", "0s")
    jitter = interval * float(jitter[:-1]) / 100 if str(jitter).endswith("%") else seconds(jitter)
    with open(RULES_FILE) as f:
        rules = f.read()
    down = rules[rules.index("alert: 'SipTrunkDown'"):]
    down_for = re.search(r"^\s*for:\s*'?([^'\s]+)", down, re.M).group(1)
    return {
        "interval": interval,
        "interval_jitter": jitter,
        "fast_interval": seconds(d.get("fast_interval", d["interval"])),
        "down_interval": seconds(d.get("down_interval", d["interval"])),
        "timeout": seconds(d["timeout"]),
        "failures_before_down": int(d["failures_before_down"]),
        "successes_before_up": int(d.get("successes_before_up", 1)),
        "scrape_interval": _yaml_value(PROMETHEUS_YML, "scrape_interval"),
        "evaluation_interval": _yaml_value(PROMETHEUS_YML, "evaluation_interval"),
        "down_for": down_for,
        "group_wait": _yaml_value(ALERTMANAGER_YML, "group_wait", after="route:"),
        "group_interval": _yaml_value(ALERTMANAGER_YML, "group_interval", after="route:"),
        "repeat_interval": _yaml_value(ALERTMANAGER_YML, "repeat_interval", after="route:"),
        "group_by": re.search(r"^\s*group_by:\s*\[([^\]]*)\]", open(ALERTMANAGER_YML).read(),
                              re.M).group(1),
    }


def worst_and_expected(s):
    """README "From silence to email": (worst, expected) seconds from silence to email."""
    gap, jit = s["interval"], s["interval_jitter"]
    detect_worst = s["timeout"] + (s["failures_before_down"] - 1) * max(
        s["timeout"], s["fast_interval"] + jit)
    detect_mean = s["timeout"] + (s["failures_before_down"] - 1) * max(
        s["timeout"], s["fast_interval"] + jit / 2)
    scrape, evaluation = seconds(s["scrape_interval"]), seconds(s["evaluation_interval"])
    tail = seconds(s["down_for"]) + seconds(s["group_wait"])
    mean_gap = gap + jit / 2
    wait_mean = (mean_gap ** 2 + jit ** 2 / 12) / (2 * mean_gap)
    return (gap + jit + detect_worst + scrape + evaluation + tail,
            wait_mean + detect_mean + scrape / 2 + evaluation / 2 + tail)
