"""Small statistics over lists of numbers."""


def percentile(values, pct):
    """Nearest-rank percentile (0-100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def abs_percentile(values, pct):
    return percentile([abs(v) for v in values], pct)


def mean(values):
    return sum(values) / len(values) if values else None
