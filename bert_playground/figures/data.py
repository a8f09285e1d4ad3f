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


def _heatmap(name: str, trace) -> list[dict]:
    z = [_seq(row) for row in _seq(trace.z)]
    width = max((len(row) for row in z), default=0)
    xs = _seq(trace.x) or list(range(width))
    ys = _seq(trace.y) or list(range(len(z)))
    return [{"series": name, "x": _plain(xs[c]), "y": _plain(ys[r]), "z": _plain(v)}
            for r, row in enumerate(z) for c, v in enumerate(row)]


def _points(name: str, trace) -> list[dict]:
    xs, ys = _seq(trace.x), _seq(trace.y)
    n = max(len(xs), len(ys))
    xs, ys = xs or [""] * n, ys or [""] * n  # a histogram's raw values have no y: Plotly counts them
    return [{"series": name, "x": _plain(x), "y": _plain(y), "z": ""} for x, y in zip(xs, ys)
            if not (x is None and y is None)]  # a legend-only trace holds one empty point


def rows(fig) -> list[dict]:
    """Every point of every trace (heatmaps, bars, lines and markers, histograms' raw values, indicators), in the
    order the figure draws them. A figure drawn only from shapes and annotations has no rows."""
    out = []
    for i, trace in enumerate(fig.data):
        name = _plain(trace.name) if getattr(trace, "name", None) else f"{trace.type} {i + 1}"
        if trace.type == "heatmap" and trace.z is not None:
            out += _heatmap(name, trace)
        elif trace.type in POINTS:
            out += _points(name, trace)
        elif trace.type == "indicator" and trace.value is not None:
            out.append({"series": name, "x": "", "y": "", "z": _plain(trace.value)})
    return out


def has_rows(fig) -> bool:
    """Whether `rows` finds anything, without building the rows (a model view holds hundreds of heatmaps)."""
    return any((t.type == "heatmap" and t.z is not None) or (t.type == "indicator" and t.value is not None)
               or (t.type in POINTS and (_seq(t.x) or _seq(t.y)) and not all(v is None for v in _seq(t.x) + _seq(t.y)))
               for t in fig.data)
