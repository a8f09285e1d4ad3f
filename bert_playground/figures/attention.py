"""Figures for the attention page: large fonts and a viridis scale that survive a projector and colour-blindness.

Tokens are user text: every token that reaches a label, tick or hover is html.escape'd (Plotly reads
some HTML). Positions are kept in the labels ("cat #2") so repeated tokens stay separate categories.
"""
from __future__ import annotations

import copy
import functools
import html
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import palette

SCALE = palette.MAGNITUDE  # attention: 0 = dark purple, strong = yellow (viridis)
STAT_SCALE = palette.MAGNITUDE
FONT = dict(size=16)
MAX_LABELS = 40  # more tokens than this: label every k-th one


def labels(tokens, positions) -> list[str]:
    """Unique, escaped category labels: 'token #i'."""
    return [f"{html.escape(tokens[i])} #{i}" for i in positions]


def _ticks(cats: list[str], tokens, positions, max_labels: int) -> dict:
    step = max(1, math.ceil(len(cats) / max_labels))
    keep = range(0, len(cats), step)
    return dict(type="category", showgrid=False, tickmode="array", tickvals=[cats[k] for k in keep],
                ticktext=[html.escape(tokens[positions[k]]) for k in keep],
                tickfont=dict(size=14 if step == 1 and len(cats) <= 24 else 12))


def heatmap(matrix: np.ndarray, tokens, rows, cols, title: str, zmax: float | None = None,
            max_labels: int = MAX_LABELS) -> go.Figure:
    """One attention map: rows = from (query) tokens, columns = to (key) tokens; hover shows the weight."""
    ylab, xlab = labels(tokens, rows), labels(tokens, cols)
    fig = go.Figure(go.Heatmap(
        z=matrix, x=xlab, y=ylab, colorscale=SCALE, zmin=0, zmax=zmax, colorbar=dict(title="weight"),
        hovertemplate="from %{y}<br>to %{x}<br>weight %{z:.3f}<extra></extra>",
    ))
    side = 22 * max(len(rows), len(cols))
    fig.update_layout(title=title, font=FONT, height=int(min(900, max(600, side + 200))),
                      margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white")
    fig.update_xaxes(_ticks(xlab, tokens, cols, max_labels), title="attends to (key)", side="top", tickangle=-60)
    fig.update_yaxes(_ticks(ylab, tokens, rows, max_labels), title="token (query)", autorange="reversed",
                     scaleanchor="x", constrain="domain")
    return fig


def side_by_side(left: np.ndarray, right: np.ndarray, tokens, positions, titles: tuple[str, str]) -> go.Figure:
    """Two maps of the same tokens on one colour scale, capped at the left map's largest weight (else the causal
    map's first row, always 1, would wash the bidirectional map out)."""
    cats = labels(tokens, positions)
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.12)
    for k, m in enumerate((left, right)):
        fig.add_trace(go.Heatmap(z=m, x=cats, y=cats, coloraxis="coloraxis",
                                 hovertemplate="from %{y}<br>to %{x}<br>weight %{z:.3f}<extra></extra>"),
                      row=1, col=k + 1)
    ticks = _ticks(cats, tokens, positions, MAX_LABELS)
    fig.update_xaxes(ticks, tickangle=-60)
    fig.update_yaxes(ticks, autorange="reversed")
    fig.update_layout(coloraxis=dict(colorscale=SCALE, cmin=0, cmax=float(left.max()), colorbar=dict(title="weight")),
                      font=FONT, height=int(min(850, max(560, 12 * len(positions) + 260))),
                      margin=dict(l=10, r=10, t=60, b=10))
    fig.update_annotations(font_size=18)
    return fig


@functools.lru_cache(maxsize=16)
def _grid_layout(n_layers: int, n_heads: int) -> dict:
    """The model view's layout from make_subplots, built once per shape (it costs ~0.4 s for 6 x 12)."""
    fig = make_subplots(rows=n_layers, cols=n_heads, horizontal_spacing=0.004, vertical_spacing=0.008,
                        row_titles=[f"L{l + 1}" for l in range(n_layers)],
                        column_titles=[f"H{h + 1}" for h in range(n_heads)])
    fig.update_xaxes(showticklabels=False, showgrid=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, autorange="reversed")
    fig.update_layout(font=FONT, height=int(min(1400, max(300, 95 * n_layers + 60))),
                      margin=dict(l=10, r=40, t=40, b=10))
    fig.update_annotations(font_size=14)
    return fig.layout.to_plotly_json()


def model_view(pooled: np.ndarray, selected: tuple[int, int] | None = None) -> go.Figure:
    """All layers x heads as small maps (L, H, G, G), one subplot each, each scaled from 0 to its own largest
    weight (so faint heads still show their pattern on a projector); the selected (layer, head) is framed. Traces go in as dicts on a cached layout: 7x faster than add_trace per subplot."""
    n_layers, n_heads = pooled.shape[:2]
    layout = copy.deepcopy(_grid_layout(n_layers, n_heads))
    axis = lambda k: "" if k == 1 else str(k)  # noqa: E731  subplot k (1-based, row-major) uses axes x{k}, y{k}
    data = [dict(type="heatmap", z=pooled[l, h], colorscale=SCALE, zmin=0, zmax=float(pooled[l, h].max()) or 1.0,
                 showscale=False, xaxis=f"x{axis(l * n_heads + h + 1)}",
                 yaxis=f"y{axis(l * n_heads + h + 1)}",
                 hovertemplate=f"layer {l + 1}, head {h + 1}<br>weight %{{z:.3f}}<extra></extra>")
            for l in range(n_layers) for h in range(n_heads)]
    if selected is not None:
        ax = axis(selected[0] * n_heads + selected[1] + 1)
        layout["shapes"] = [dict(type="rect", xref=f"x{ax} domain", yref=f"y{ax} domain", x0=-0.04, x1=1.04,
                                 y0=-0.04, y1=1.04, line=dict(color="#dc2626", width=4))]
    return go.Figure(data=data, layout=layout)


def stat_grid(values: np.ndarray, title: str, zmax: float | None = None, fmt: str = ".2f") -> go.Figure:
    """A layer x head statistic: rows = layers (1 at the top), columns = heads, value written in each cell."""
    n_layers, n_heads = values.shape
    fig = go.Figure(go.Heatmap(
        z=values, x=[f"H{h + 1}" for h in range(n_heads)], y=[f"L{l + 1}" for l in range(n_layers)],
        colorscale=STAT_SCALE, zmin=0, zmax=zmax, texttemplate=f"%{{z:{fmt}}}" if n_heads <= 12 else None,
        textfont=dict(size=12), hovertemplate=f"%{{y}} %{{x}}: %{{z:{fmt}}}<extra></extra>",
    ))
    fig.update_layout(title=title, font=FONT, height=int(max(300, 42 * n_layers + 120)),
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(autorange="reversed")
    return fig


def bars(values: np.ndarray, tokens, positions, title: str) -> go.Figure:
    cats = labels(tokens, positions)
    fig = go.Figure(go.Bar(x=cats, y=values, marker_color="#1e3a8a",
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_xaxes(_ticks(cats, tokens, positions, MAX_LABELS), tickangle=-60)
    fig.update_layout(title=title, font=FONT, height=380, yaxis_title="share", margin=dict(l=10, r=10, t=50, b=10))
    return fig
