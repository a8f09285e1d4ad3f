"""Figures for the Interventions page (pure: data in, figure out). Tokens are user text: escaped where they label."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from .attention import labels
from . import palette

FONT = dict(size=15)
ORDER_COLORS = {"importance": palette.categorical(1), "random": palette.NEUTRAL}
SCALE = palette.MAGNITUDE  # magnitudes: perceptually uniform, readable with colour-vision deficiency


def pruning_curves(rows: list[dict], n_heads: int) -> go.Figure:
    """Held-out MLM accuracy as heads are switched off: least important first, and in random orders (grey)."""
    fig = go.Figure()
    keys = sorted({(r["order"], r.get("seed")) for r in rows}, key=lambda k: (k[0] != "importance", k[1] or 0))
    for order, seed in keys:
        pts = sorted((r["pruned"], r["mlm_accuracy"]) for r in rows if r["order"] == order and r.get("seed") == seed)
        name = "least important first" if order == "importance" else f"random order (seed {seed})"
        fig.add_trace(go.Scatter(x=[100 * p / n_heads for p, _ in pts], y=[a for _, a in pts], mode="lines+markers",
                                 name=name, line=dict(color=ORDER_COLORS[order], width=3 if order == "importance" else 1.5,
                                                      dash="solid" if order == "importance" else "dot"),
                                 hovertemplate="%{x:.0f}% of heads off: accuracy %{y:.3f}<extra></extra>"))
    fig.update_layout(title="Pruning heads: held-out masked-LM accuracy", font=FONT, height=420,
                      xaxis_title="heads switched off (%)", yaxis_title="MLM accuracy", margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def patching_grid(grid: np.ndarray, tokens, row_names: list[str], title: str, reference: tuple[float, float]) -> go.Figure:
    """P(answer) with one state patched: rows = where (embeddings, layers or blocks), columns = positions. The
    colour scale runs from the corrupted run's probability to the clean run's."""
    cats = labels(tokens, range(len(tokens)))
    fig = go.Figure(go.Heatmap(z=grid, x=cats, y=row_names, colorscale=SCALE, zmin=min(reference), zmax=max(reference),
                               hovertemplate="%{y}, %{x}: P = %{z:.3f}<extra></extra>",
                               colorbar=dict(title="P(answer)")))
    fig.update_layout(title=title, font=FONT, height=int(max(300, 34 * len(row_names) + 140)),
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-60)
    return fig


def lens_ranks(layers: list[dict], answer: str) -> go.Figure:
    """The rank of the final answer when each layer is read through the MLM head (1 = the top guess)."""
    fig = go.Figure(go.Scatter(x=[r["layer"] for r in layers], y=[r["answer_rank"] for r in layers], mode="lines+markers",
                               line=dict(color="#1e3a8a", width=3),
                               hovertemplate="layer %{x}: rank %{y}<extra></extra>"))
    fig.update_layout(title=f"Rank of the final answer '{html.escape(answer)}' layer by layer", font=FONT, height=360,
                      xaxis_title="layer (0 = embeddings)", yaxis_title="rank (log scale)", yaxis_type="log",
                      margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(autorange="reversed")
    return fig
