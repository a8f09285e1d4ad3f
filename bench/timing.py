"""The one percentile every bench script reports (p50, p95): linear interpolation between closest ranks,
the same as numpy.percentile's default and statistics.quantiles(method='inclusive')."""
from __future__ import annotations


def percentile(xs, q: float) -> float:
    """The q-quantile (0 <= q <= 1) of xs; nan for no values."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)
