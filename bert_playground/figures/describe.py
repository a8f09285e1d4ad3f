"""A one-sentence text alternative for any of the playground's figures, computed from its data: what a screen reader
reads instead of the picture (the finding, not "a chart")."""
from __future__ import annotations

import html

import numpy as np


def _title(fig) -> str:
    t = fig.layout.title.text if fig.layout.title is not None else None
    return html.unescape(str(t)) if t else "Chart"


def _values(v) -> np.ndarray:
    return np.asarray(v if v is not None else [], dtype=float)


def _label(v) -> str:
    return html.unescape(str(v))


def describe(fig) -> str:
    """'<title>: <what the data shows>' for heatmaps, bars, lines and gauges (the first trace of each kind)."""
    title, parts = _title(fig), []
    for trace in fig.data:
        kind = trace.type
        if kind == "heatmap" and trace.z is not None:
            z = _values(trace.z)
            if z.ndim == 2 and z.size and np.isfinite(z).any():
                r, c = np.unravel_index(np.nanargmax(z), z.shape)
                ys = list(trace.y) if trace.y is not None else list(range(z.shape[0]))
                xs = list(trace.x) if trace.x is not None else list(range(z.shape[1]))
                parts.append(f"a {z.shape[0]} × {z.shape[1]} map whose largest value, {z[r, c]:.3g}, is at row "
                             f"{_label(ys[r])}, column {_label(xs[c])}")
        elif kind == "bar":
            horizontal = trace.orientation == "h"
            vals, names = (trace.x, trace.y) if horizontal else (trace.y, trace.x)
            vals = _values(vals)
            if vals.size:
                i = int(np.nanargmax(vals))
                parts.append(f"{vals.size} bars, the highest {_label(list(names)[i]) if names is not None else i} "
                             f"({vals[i]:.3g})")
        elif kind == "scatter" and trace.y is not None and len(trace.y):
            y = _values(trace.y)
            name = f"{_label(trace.name)} " if trace.name else ""
            parts.append(f"{name}from {y[0]:.3g} to {y[-1]:.3g} over {y.size} points")
        elif kind == "indicator" and trace.value is not None:
            parts.append(f"value {float(trace.value):.3g}")
        if len(parts) >= 3:
            break
    return f"{title}: " + ("; ".join(parts) if parts else "no data to show") + "."
