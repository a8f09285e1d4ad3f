"""Figures for the fine-tuning page: live curves, the confusion matrix, class probabilities."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from . import palette

_MARGIN = dict(l=10, r=10, t=50, b=40)


def loss_curve(steps: list[int], losses: list[float], total_steps: int | None = None) -> go.Figure:
    fig = go.Figure(go.Scatter(x=steps, y=losses, mode="lines", name="training loss",
                               hovertemplate="step %{x}<br>loss %{y:.4f}<extra></extra>"))
    fig.update_layout(title="Training loss (cross-entropy)", xaxis_title="step", yaxis_title="loss",
                      height=320, margin=_MARGIN)
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    fig.update_yaxes(rangemode="tozero")
    return fig


def accuracy_curve(steps: list[int], accuracy: list[float], macro_f1: list[float],
                   total_steps: int | None = None, names: tuple[str, str] = ("accuracy", "macro-F1")) -> go.Figure:
    """The task's two held-out metrics (classification: accuracy and macro-F1) at each evaluation."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=steps, y=accuracy, mode="lines+markers", name=names[0],
                             hovertemplate=f"step %{{x}}<br>{names[0]} %{{y:.3f}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=steps, y=macro_f1, mode="lines+markers", name=names[1], line=dict(dash="dot"),
                             hovertemplate=f"step %{{x}}<br>{names[1]} %{{y:.3f}}<extra></extra>"))
    fig.update_layout(title=f"Held-out {names[0]} and {names[1]}", xaxis_title="step", height=320, margin=_MARGIN,
                      legend=dict(orientation="h", y=-0.25))
    fig.update_yaxes(range=[0, 1.02])
    if total_steps:
        fig.update_xaxes(range=[0, total_steps])
    return fig


def confusion(matrix: list[list[int]], labels: list[str]) -> go.Figure:
    """Rows: true label; columns: predicted label; counts written in the cells."""
    names = [html.escape(str(n)) for n in labels]  # label names come from user data
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, colorscale=palette.MAGNITUDE, text=matrix, texttemplate="%{text}", showscale=False,
        hovertemplate="true %{y}<br>predicted %{x}<br>%{z} examples<extra></extra>"))
    size = max(300, 60 * len(labels) + 120)
    fig.update_layout(title="Confusion matrix (held-out data)", xaxis_title="predicted", yaxis_title="true",
                      height=min(size, 900), margin=_MARGIN)
    fig.update_yaxes(autorange="reversed")
    return fig


def probabilities(probs: dict[str, float]) -> go.Figure:
    names = [html.escape(str(n)) for n in probs]
    values = list(probs.values())
    best = max(range(len(values)), key=values.__getitem__) if values else -1
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", text=[f"{v:.1%}" for v in values],
                           marker_color=["#2563eb" if i == best else "#94a3b8" for i in range(len(values))],
                           hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title="Class probabilities", xaxis=dict(range=[0, 1], title="probability"),
                      height=max(220, 40 * len(names) + 90), margin=_MARGIN)
    fig.update_yaxes(autorange="reversed")
    return fig
