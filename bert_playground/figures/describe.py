"""A one-sentence text alternative for any of the playground's figures, computed from its data: what a screen reader
reads instead of the picture (the finding, not "a chart"). Plain Python: the home page draws before numpy is
imported."""
from __future__ import annotations

import html
import math


def _title(fig) -> str:
    t = fig.layout.title.text if fig.layout.title is not None else None
    return html.unescape(str(t)) if t else "Chart"


def _floats(values) -> list[float]:
    out = []
    for v in values if values is not None else ():
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def _label(v) -> str:
    return html.unescape(str(v))


def _argmax(values: list[float]) -> int | None:
    best = None
    for i, v in enumerate(values):
        if not math.isnan(v) and (best is None or v > values[best]):
            best = i
    return best


def _heatmap(trace) -> str | None:
    rows = [_floats(r) for r in trace.z]
    flat = [v for r in rows for v in r]
    i = _argmax(flat)
    if not rows or i is None:
        return None
    width = len(rows[0])
    r, c = divmod(i, width)
    ys = list(trace.y) if trace.y is not None else list(range(len(rows)))
    xs = list(trace.x) if trace.x is not None else list(range(width))
    return (f"a {len(rows)} × {width} map whose largest value, {flat[i]:.3g}, is at row {_label(ys[r])}, "
            f"column {_label(xs[c])}")


def _bars(trace) -> str | None:
    horizontal = trace.orientation == "h"
    vals, names = (trace.x, trace.y) if horizontal else (trace.y, trace.x)
    vals = _floats(vals)
    i = _argmax(vals)
    if i is None:
        return None
    name = _label(list(names)[i]) if names is not None else i
    return f"{len(vals)} bars, the highest {name} ({vals[i]:.3g})"


def describe(fig) -> str:
    """'<title>: <what the data shows>' for heatmaps, bars, lines and gauges (at most three traces)."""
    parts = []
    for trace in fig.data:
        found = None
        if trace.type == "heatmap" and trace.z is not None:
            found = _heatmap(trace)
        elif trace.type == "bar":
            found = _bars(trace)
        elif trace.type == "scatter" and trace.y is not None and len(trace.y):
            y = _floats(trace.y)
            found = f"{_label(trace.name) + ' ' if trace.name else ''}from {y[0]:.3g} to {y[-1]:.3g} over {len(y)} points"
        elif trace.type == "indicator" and trace.value is not None:
            found = f"value {float(trace.value):.3g}"
        if found:
            parts.append(found)
        if len(parts) >= 3:
            break
    return f"{_title(fig)}: " + ("; ".join(parts) if parts else "no data to show") + "."
