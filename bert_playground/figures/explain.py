"""Figures for the Explanations page and the Masked-LM page's decoding sections (pure: data in, figure out).

Tokens are user text: every token that reaches a label, tick or hover is html.escape'd; positions are kept in
the labels ("the #1") so repeated tokens stay separate categories.
"""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .attention import labels
from . import palette

FONT = dict(size=15)
METHOD_NAMES = {"attention": "Raw attention", "rollout": "Attention rollout", "grad_x_input": "Gradient × input",
                "integrated_gradients": "Integrated gradients", "random": "Random orderings"}
COLORS = {"attention": palette.categorical(0), "rollout": palette.categorical(2), "grad_x_input": palette.categorical(3),
          "integrated_gradients": palette.categorical(4), "random": palette.NEUTRAL}
DASHES = {"attention": "solid", "rollout": "dash", "grad_x_input": "dot", "integrated_gradients": "dashdot"}
SYMBOLS = {"attention": "circle", "rollout": "square", "grad_x_input": "diamond", "integrated_gradients": "triangle-up"}
POS, NEG = palette.POSITIVE, palette.NEGATIVE  # signed attributions: for the prediction (red), against it (blue)


def _ticks(cats: list[str], tokens) -> dict:
    step = max(1, len(cats) // 40 + (len(cats) % 40 > 0))
    keep = range(0, len(cats), step)
    return dict(type="category", tickmode="array", tickvals=[cats[k] for k in keep],
                ticktext=[html.escape(tokens[k]) for k in keep], tickangle=-60)


def token_scores(tokens, scores: dict[str, np.ndarray], highlight: int | None = None,
                 methods=("attention", "rollout", "integrated_gradients", "grad_x_input")) -> go.Figure:
    """One row of bars per method, same tokens on x; signed methods coloured by sign. `highlight` = the
    prediction's position (marked with a triangle)."""
    cats = labels(tokens, range(len(tokens)))
    fig = make_subplots(rows=len(methods), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[METHOD_NAMES[m] for m in methods])
    for r, m in enumerate(methods, start=1):
        v = np.asarray(scores[m], dtype=float).tolist()
        signed = m in ("grad_x_input", "integrated_gradients")
        color = [POS if x >= 0 else NEG for x in v] if signed else COLORS[m]
        fig.add_trace(go.Bar(x=cats, y=v, name=METHOD_NAMES[m], marker_color=color, showlegend=False,
                             hovertemplate="%{x}: %{y:.4f}<extra>" + METHOD_NAMES[m] + "</extra>"), row=r, col=1)
        if highlight is not None:
            fig.add_trace(go.Scatter(x=[cats[highlight]], y=[0], mode="markers", marker=dict(symbol="triangle-up",
                          size=12, color="#111"), showlegend=False, hoverinfo="skip"), row=r, col=1)
    fig.update_xaxes(_ticks(cats, tokens), row=len(methods), col=1)
    fig.update_layout(font=FONT, height=170 * len(methods) + 90, margin=dict(l=10, r=10, t=40, b=10),
                      title=html.escape("Three views of the same prediction (one scale per row)"))
    return fig


def deletion_curves(k: list[int], curves: dict[str, list[float]], probability: float, random_mean: list[float],
                    random_low: list[float], random_high: list[float]) -> go.Figure:
    """The target's probability after deleting the top k tokens of each ranking, against random orderings."""
    xs = [0] + list(k)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs + xs[::-1], y=[probability] + list(random_high) + ([probability] + list(random_low))[::-1],
                             mode="lines", fill="toself", fillcolor="rgba(107,114,128,0.18)", line=dict(width=0), hoverinfo="skip",
                             name="Random: 10th–90th percentile"))
    fig.add_trace(go.Scatter(x=xs, y=[probability] + list(random_mean), name=METHOD_NAMES["random"] + " (mean)",
                             line=dict(color=COLORS["random"], dash="dash"), mode="lines+markers"))
    for m, ys in curves.items():
        fig.add_trace(go.Scatter(x=xs, y=[probability] + list(ys), name=METHOD_NAMES.get(m, m), mode="lines+markers",
                                 line=dict(color=COLORS.get(m, "#111"), width=3, dash=DASHES.get(m, "solid")),
                                 marker=dict(symbol=SYMBOLS.get(m, "circle"), size=8)))
    fig.update_layout(title="Deletion test: probability of the prediction as its top-k tokens become [MASK]",
                      xaxis_title="k tokens replaced by [MASK]", yaxis_title="probability", font=FONT, height=440,
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), margin=dict(l=10, r=10, t=90, b=10))
    fig.update_xaxes(dtick=1)
    return fig


def neuron(tokens, query_index: int, query: np.ndarray, keys: np.ndarray, products: np.ndarray, scores: np.ndarray,
           probabilities: np.ndarray) -> go.Figure:
    """bertviz's neuron view: q (top), keys and q*k per token (heatmaps), q.k/sqrt(d) and the softmax (bars)."""
    cats = labels(tokens, range(len(tokens)))
    d = query.shape[0]
    fig = make_subplots(rows=2, cols=4, row_heights=[0.07, 0.93], column_widths=[0.33, 0.33, 0.17, 0.17],
                        shared_yaxes=False, horizontal_spacing=0.03, vertical_spacing=0.07,
                        specs=[[{}, {}, None, None], [{}, {}, {}, {}]],
                        subplot_titles=[f"query q ({html.escape(tokens[query_index])} #{query_index})",
                                        "", "keys k", "q × k (elementwise)", "q·k / √d", "softmax"])
    lim = float(max(np.abs(keys).max(), np.abs(query).max(), 1e-9))
    plim = float(max(np.abs(products).max(), 1e-9))
    query, keys, products = np.asarray(query).tolist(), np.asarray(keys).tolist(), np.asarray(products).tolist()
    scores, probabilities = np.asarray(scores).tolist(), np.asarray(probabilities).tolist()
    dims = list(range(d))
    fig.add_trace(go.Heatmap(z=[query], x=dims, y=["q"], zmin=-lim, zmax=lim, colorscale=palette.SIGNED, showscale=False,
                             hovertemplate="dim %{x}: %{z:.3f}<extra>q</extra>"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=keys, x=dims, y=cats, zmin=-lim, zmax=lim, colorscale=palette.SIGNED, showscale=False,
                             hovertemplate="%{y}, dim %{x}: %{z:.3f}<extra>k</extra>"), row=2, col=1)
    fig.add_trace(go.Heatmap(z=products, x=dims, y=cats, zmin=-plim, zmax=plim, colorscale=palette.SIGNED, showscale=False,
                             hovertemplate="%{y}, dim %{x}: %{z:.3f}<extra>q×k</extra>"), row=2, col=2)
    fig.add_trace(go.Bar(x=scores, y=cats, orientation="h", marker_color="#6b7280",
                         hovertemplate="%{y}: %{x:.3f}<extra>score</extra>"), row=2, col=3)
    fig.add_trace(go.Bar(x=probabilities, y=cats, orientation="h", marker_color="#1e3a8a",
                         hovertemplate="%{y}: %{x:.4f}<extra>softmax</extra>"), row=2, col=4)
    for c in (1, 2, 3, 4):
        fig.update_yaxes(autorange="reversed", type="category", row=2, col=c, showticklabels=c == 1)
    fig.update_yaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_layout(font=dict(size=13), height=160 + 24 * len(tokens), showlegend=False,
                      margin=dict(l=10, r=10, t=40, b=10))
    return fig


def sides(both, left, right) -> go.Figure:
    """Top-k at the mask: whole context, left only, right only ((token, probability) lists)."""
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.12,
                        subplot_titles=["Both sides (what BERT reads)", "Left context only", "Right context only"])
    for c, (preds, color) in enumerate(((both, "#1e3a8a"), (left, "#0891b2"), (right, "#a16207")), start=1):
        toks = [html.escape(t) for t, _ in preds]
        fig.add_trace(go.Bar(x=[p for _, p in preds], y=toks, orientation="h", marker_color=color,
                             text=[f"{p:.1%}" for _, p in preds], textposition="auto",
                             hovertemplate="%{y}: %{x:.4f}<extra></extra>"), row=1, col=c)
        fig.update_yaxes(autorange="reversed", type="category", row=1, col=c)
    fig.update_layout(font=FONT, showlegend=False, height=120 + 30 * max(len(both), 1), margin=dict(l=10, r=10, t=50, b=10))
    return fig


def candidates(words: list[str], plls: list[float], pieces: list[list[str]]) -> go.Figure:
    """Pseudo-log-likelihood of each candidate word (higher = the model finds it more likely)."""
    ylab = [html.escape(f"{w} ({' '.join(p)})") for w, p in zip(words, pieces)]
    fig = go.Figure(go.Bar(x=plls, y=ylab, orientation="h", marker_color="#6366f1",
                           text=[f"{v:.2f}" for v in plls], textposition="auto",
                           hovertemplate="%{y}: PLL %{x:.3f}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(title="Candidates by pseudo-log-likelihood (pieces in brackets)", xaxis_title="PLL (nats)",
                      font=FONT, height=110 + 34 * len(words), margin=dict(l=10, r=10, t=50, b=40))
    return fig
