"""Reading Prometheus text exposition: only the series asked for, fast on 100 MB scrapes."""

import math
import re

_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text, name):
    """[(labels dict, value)] of every series of metric `name` (exactly that name)."""
    pattern = re.compile(r"^" + re.escape(name) + r"(?:\{([^\n]*)\})? (\S+)", re.M)
    out = []
    for m in pattern.finditer(text):
        labels = dict(_LABEL.findall(m.group(1) or ""))
        out.append((labels, float(m.group(2))))
    return out


def total(text, name, **match):
    """Sum of the series of `name` whose labels include `match`."""
    return sum(v for labels, v in samples(text, name)
               if all(labels.get(k) == want for k, want in match.items()))


def value(text, name, **match):
    """The value of the one series of `name` matching `match`, or None."""
    for labels, v in samples(text, name):
        if all(labels.get(k) == want for k, want in match.items()):
            return v
    return None


def histogram(text, name):
    """Cumulative buckets of an unlabelled histogram: [(upper bound, count)] by bound."""
    buckets = [(float(labels["le"]), v) for labels, v in samples(text, name + "_bucket")
               if "le" in labels]
    return sorted(buckets)


def histogram_delta(before, after):
    """Buckets counted between two readings of the same histogram."""
    earlier = dict(before)
    return [(le, count - earlier.get(le, 0.0)) for le, count in after]


def quantile(buckets, q):
    """Prometheus-style quantile: linear interpolation inside the bucket holding rank q.

    None when empty; the highest finite bound when the rank falls in +Inf.
    """
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower
            if count == below:
                return le
            return lower + (le - lower) * (rank - below) / (count - below)
        lower, below = le, count
    return lower


def max_bound(buckets):
    """Upper bound of the highest non-empty bucket (inf if observations exceeded the last)."""
    highest, below = None, 0.0
    for le, count in buckets:
        if count > below:
            highest = le
        below = count
    return highest
