"""Figures for the Contextual-embeddings page (pure functions of numbers and labels)."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from . import palette

PALETTE = palette.CATEGORICAL


def _esc(labels) -> list[str]:
    return [html.escape(str(x)) for x in labels]  # labels are user text: never let Plotly read them as markup


def similarity_heatmap(sim, labels, layer: int, zmin: float = 0.0) -> go.Figure:
    """Cosine similarity between occurrences at one layer; one colour scale for every layer (zmin..1)."""
    lab = _esc(labels)
    fig = go.Figure(go.Heatmap(z=[[float(v) for v in row] for row in sim], x=lab, y=lab, zmin=zmin, zmax=1.0, colorscale=palette.MAGNITUDE,
                               colorbar=dict(title="cosine"),
                               hovertemplate="%{y} vs %{x}<br>cosine %{z:.3f}<extra></extra>"))
    what = "embedding output" if layer == 0 else f"after layer {layer}"
    fig.update_layout(title=f"Cosine similarity between the occurrences, hidden state {layer} ({what})",
                      height=max(360, 60 + 28 * len(lab)), margin=dict(l=10, r=10, t=50, b=10))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    return fig


def sense_curves(within, across) -> go.Figure:
    """Mean same-sense and different-sense similarity by layer."""
    layers = list(range(len(within)))
    fig = go.Figure([
        go.Scatter(x=layers, y=[float(v) for v in within], mode="lines+markers", name="same sense (mean over pairs)"),
        go.Scatter(x=layers, y=[float(v) for v in across], mode="lines+markers", name="different senses (mean over pairs)",
                   line=dict(dash="dash")),
    ])
    fig.update_layout(title="Same sense vs different senses, layer by layer", xaxis_title="hidden state (0 = embedding output)",
                      yaxis_title="mean cosine similarity", height=360, margin=dict(l=10, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(dtick=1)
    return fig


def projection(points, labels, groups, layer: int, ratio, fit_label: str) -> go.Figure:
    """The occurrences in 2-D (PCA), one colour and one marker symbol per group (sense or sentence)."""
    fig = go.Figure()
    order = list(dict.fromkeys(groups))
    for g_i, g in enumerate(order):
        idx = [i for i, x in enumerate(groups) if x == g]
        fig.add_trace(go.Scatter(x=[float(points[i][0]) for i in idx], y=[float(points[i][1]) for i in idx], mode="markers+text",
                                 name=html.escape(str(g)), text=[html.escape(labels[i].split(" ")[0]) for i in idx],
                                 textposition="top center", hovertext=[html.escape(labels[i]) for i in idx],
                                 hoverinfo="text", marker=dict(size=12, color=PALETTE[g_i % len(PALETTE)],
                                                                 symbol=palette.SYMBOLS[g_i % len(palette.SYMBOLS)])))
    fig.update_layout(title=f"2-D projection, hidden state {layer} ({fit_label}; the two axes explain "
                            f"{ratio[0]:.0%} and {ratio[1]:.0%} of the variance)",
                      xaxis_title="PC 1", yaxis_title="PC 2", height=440, margin=dict(l=10, r=10, t=50, b=40))
    return fig


def probe_chart(layers, cls, mean, baseline: float, majority: float) -> go.Figure:
    """Held-out accuracy of the linear probe by layer, [CLS] and mean pooling, with the baselines as lines."""
    fig = go.Figure([
        go.Scatter(x=list(layers), y=list(cls), mode="lines+markers", name="[CLS] vector"),
        go.Scatter(x=list(layers), y=list(mean), mode="lines+markers", name="mean of the pieces"),
    ])
    fig.add_hline(y=baseline, line_dash="dash", line_color="#6b7280",
                  annotation_text=f"bag-of-words baseline {baseline:.1%}", annotation_position="bottom right")
    fig.add_hline(y=majority, line_dash="dot", line_color="#d1d5db",
                  annotation_text=f"majority class {majority:.1%}", annotation_position="top right")
    fig.update_layout(title="Held-out accuracy of a linear probe on frozen features, by layer",
                      xaxis_title="hidden state (0 = embedding output)", yaxis_title="accuracy",
                      yaxis=dict(range=[0, 1.02], tickformat=".0%"), height=400, margin=dict(l=10, r=10, t=50, b=40),
                      legend=dict(orientation="h", y=-0.25))
    fig.update_xaxes(dtick=1)
    return fig
