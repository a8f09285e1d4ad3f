"""The numbers behind any of the playground's figures, as rows: what a chart's "Data as CSV" download holds, so that
every chart's data can be read as a table (issue 31) and checked against the model outside the app.

One row per point: the series (trace) it belongs to, its x and y, and z for a heatmap's cell or an indicator's
value. Category labels are unescaped (the figures escape user text for Plotly's HTML labels). Plain Python, like
`describe`: the home page draws before numpy is imported.
"""
from __future__ import annotations

import html

FIELDS = ["series", "x", "y", "z"]
POINTS = ("bar", "scatter", "scattergl", "histogram", "box", "violin")


def _plain(v):
    """A label as the user typed it; numbers (and numpy scalars) as Python numbers."""
    if isinstance(v, str):
        return html.unescape(v)
    if hasattr(v, "item"):
        return v.item()
    return v


def _seq(values) -> list:
    return [] if values is None else list(values)


def _heatmap(name: str, trace):
    z = [_seq(row) for row in _seq(trace.z)]
    width = max((len(row) for row in z), default=0)
    xs = _seq(trace.x) or list(range(width))
    ys = _seq(trace.y) or list(range(len(z)))
    for r, row in enumerate(z):
        for c, v in enumerate(row):
            yield {"series": name, "x": _plain(xs[c]), "y": _plain(ys[r]), "z": _plain(v)}


def _points(name: str, trace):
    xs, ys = _seq(trace.x), _seq(trace.y)
    n = max(len(xs), len(ys))
    xs, ys = xs or [""] * n, ys or [""] * n  # a histogram's raw values have no y: Plotly counts them
    for x, y in zip(xs, ys):
        if not (x is None and y is None):  # a legend-only trace holds one empty point
            yield {"series": name, "x": _plain(x), "y": _plain(y), "z": ""}


def _rows(fig):
    for i, trace in enumerate(fig.data):
        name = _plain(trace.name) if getattr(trace, "name", None) else f"{trace.type} {i + 1}"
        if trace.type == "heatmap" and trace.z is not None:
            yield from _heatmap(name, trace)
        elif trace.type in POINTS:
            yield from _points(name, trace)
        elif trace.type == "indicator" and trace.value is not None:
            yield {"series": name, "x": "", "y": "", "z": _plain(trace.value)}


def rows(fig) -> list[dict]:
    """Every point of every trace (heatmaps, bars, lines and markers, histograms' raw values, indicators), in the
    order the figure draws them. A figure drawn only from shapes and annotations has no rows."""
    return list(_rows(fig))


def has_rows(fig) -> bool:
    """Whether `rows` finds anything, stopping at the first row (a model view holds hundreds of heatmaps)."""
    return next(_rows(fig), None) is not None
