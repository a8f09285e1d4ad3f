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
            y = [v for v in _floats(trace.y) if not math.isnan(v)]  # a legend-only trace has no point
            if y:
                found = f"{_label(trace.name) + ' ' if trace.name else ''}from {y[0]:.3g} to {y[-1]:.3g} over {len(y)} points"
        elif trace.type == "indicator" and trace.value is not None:
            found = f"value {float(trace.value):.3g}"
        if found:
            parts.append(found)
        if len(parts) >= 3:
            break
    return f"{_title(fig)}: " + ("; ".join(parts) if parts else "no data to show") + "."


def attention(matrix, tokens, rows, cols, what: str) -> str:
    """The finding of one attention map (rows attend to columns), e.g. 'Layer 3, head 7: 12 of 23 tokens attend
    mostly to [SEP]; the strongest weight, 0.91, is from 'it' (position 9) to 'animal' (position 2).'"""
    rows, cols = list(rows), list(cols)
    best = {}  # column -> how many rows put their largest weight there
    top = (-1.0, 0, 0)
    for r, row in enumerate(matrix):
        vals = _floats(row)
        c = _argmax(vals)
        if c is None:
            continue
        best[c] = best.get(c, 0) + 1
        if vals[c] > top[0]:
            top = (vals[c], r, c)
    if not best:
        return f"{what}: no weights to show."
    c, n = max(best.items(), key=lambda kv: (kv[1], -kv[0]))
    w, r, tc = top
    name = lambda pos: f"'{tokens[pos]}' (position {pos})"
    return (f"{what}: {n} of {len(rows)} tokens attend mostly to {name(cols[c])}; the strongest weight, {w:.2f}, is "
            f"from {name(rows[r])} to {name(cols[tc])}.")


def segments(tokens, segment_ids) -> str:
    """The packed input in words: how many tokens, and how many in each segment."""
    ids = list(segment_ids)
    a, b = ids.count(0), len(ids) - ids.count(0)
    out = f"{len(ids)} tokens, {a} in segment A"
    out += f" and {b} in segment B (from position {ids.index(1)})" if b else " (no sentence B)"
    specials = sum(1 for t in tokens if str(t).startswith("[") and str(t).endswith("]"))
    return out + f"; {specials} of them special tokens such as [CLS] and [SEP]."


def is_next(p: float) -> str:
    """The NSP head's verdict on one pair, in words (the dial's finding)."""
    verdict = "IsNext: B follows A" if p >= 0.5 else "NotNext: B does not follow A"
    return f"P(IsNext) = {p:.3f}, so the NSP head says {verdict} (the threshold is 0.5)."


def attribution(tokens, scores: dict, names: dict, candidates) -> str:
    """Which token each method credits most (among `candidates`, positions a method may rank); for the signed
    methods also the token that counts most against the prediction."""
    parts = []
    for m, values in scores.items():
        vals = {i: float(values[i]) for i in candidates}
        if not vals:
            continue
        up = max(vals, key=lambda i: vals[i])
        text = f"{names.get(m, m)} credits '{tokens[up]}' most ({vals[up]:+.3g})"
        down = min(vals, key=lambda i: vals[i])
        if vals[down] < 0:
            text += f" and '{tokens[down]}' most against ({vals[down]:+.3g})"
        parts.append(text)
    return "; ".join(parts) + "." if parts else "No token to rank."
