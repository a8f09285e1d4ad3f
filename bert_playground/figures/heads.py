"""Figures for the token, span and comparison views of the fine-tuning page (pure Plotly builders)."""
from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import palette

_MARGIN = dict(l=10, r=10, t=50, b=40)


def _esc(items) -> list[str]:
    return [html.escape(str(t)) for t in items]


def _unique(tokens) -> list[str]:
    """Category labels that stay distinct when a token repeats ('the', 'the ·2')."""
    seen: dict[str, int] = {}
    out = []
    for t in _esc(tokens):
        seen[t] = seen.get(t, 0) + 1
        out.append(t if seen[t] == 1 else f"{t} ·{seen[t]}")
    return out


def tag_probabilities(words: list[str], label_names: list[str], probs: np.ndarray) -> go.Figure:
    """(n_words, C) probability of every tag for every word."""
    fig = go.Figure(go.Heatmap(z=np.asarray(probs).T.tolist(), x=_unique(words), y=_esc(label_names), colorscale=palette.MAGNITUDE,
                               zmin=0, zmax=1, hovertemplate="%{x}<br>%{y}: %{z:.3f}<extra></extra>"))
    fig.update_layout(title="Tag probabilities per word (read at its first WordPiece)", height=120 + 22 * len(label_names),
                      margin=_MARGIN)
    fig.update_yaxes(autorange="reversed")
    return fig


def span_probabilities(tokens: list[str], start: np.ndarray, end: np.ndarray, chosen: tuple[int, int]) -> go.Figure:
    """Start and end probabilities over the window's tokens (0 outside the passage), the chosen span marked."""
    x = _unique(tokens)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=("P(start)", "P(end)"), vertical_spacing=0.12)
    for row, (vals, k) in enumerate(((start, chosen[0]), (end, chosen[1])), 1):
        colors = ["#dc2626" if i == k else "#2563eb" for i in range(len(vals))]
        fig.add_trace(go.Bar(x=x, y=np.asarray(vals).tolist(), marker_color=colors, showlegend=False,
                             hovertemplate="%{x}<br>%{y:.3f}<extra></extra>"), row=row, col=1)
    fig.update_layout(title="Answer start and end probabilities over the window's tokens", height=460, margin=_MARGIN)
    fig.update_yaxes(range=[0, 1.02])
    return fig


def sheet_curves(records) -> go.Figure:
    """Every run's held-out metric against wall time, one line per run."""
    fig = go.Figure()
    for r in records:
        xs, ys = [c[0] for c in r.curve], [c[1] for c in r.curve]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers",
                                 name=html.escape(f"#{r.run} {r.task} · {r.mode} · {r.metric}"),
                                 hovertemplate="%{x:.1f} s<br>%{y:.3f}<extra></extra>"))
    fig.update_layout(title="Held-out metric vs time, every run of this session", xaxis_title="seconds",
                      yaxis_title="metric (0-1)", height=380, margin=_MARGIN, legend=dict(orientation="h", y=-0.25))
    fig.update_yaxes(range=[0, 1.02])
    return fig


def attention_change(before: np.ndarray, after: np.ndarray, tokens: list[str], titles: tuple[str, str, str]) -> go.Figure:
    """Before, after (one colour scale) and after - before (diverging) for one layer and head."""
    cats = _unique(tokens)
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.06)
    top = float(max(before.max(), after.max(), 1e-9))
    diff = after - before
    lim = float(max(np.abs(diff).max(), 1e-9))
    for col, (m, kw) in enumerate(((before, dict(colorscale=palette.MAGNITUDE, zmin=0, zmax=top, showscale=False)),
                                   (after, dict(colorscale=palette.MAGNITUDE, zmin=0, zmax=top, showscale=False)),
                                   (diff, dict(colorscale=palette.SIGNED, zmid=0, zmin=-lim, zmax=lim))), 1):
        fig.add_trace(go.Heatmap(z=np.asarray(m).tolist(), x=cats, y=cats, hovertemplate="from %{y}<br>to %{x}<br>%{z:.3f}<extra></extra>",
                                 **kw), row=1, col=col)
    fig.update_layout(title="Attention before and after fine-tuning, and the difference", height=460, margin=_MARGIN)
    fig.update_yaxes(autorange="reversed")
    return fig


def cls_scatter(points: np.ndarray, labels: list[str], title: str) -> go.Figure:
    """[CLS] vectors projected to 2-D, coloured by label."""
    fig = go.Figure()
    labels = np.asarray(labels)
    for name in dict.fromkeys(labels.tolist()):
        m = labels == name
        fig.add_trace(go.Scatter(x=points[m, 0].tolist(), y=points[m, 1].tolist(), mode="markers", name=html.escape(str(name)),
                                 hovertemplate=f"{html.escape(str(name))}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="PC 1", yaxis_title="PC 2", height=420, margin=_MARGIN)
    return fig


def metric_bars(names: list[str], values: list[float], title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=_esc(names), y=values, text=[f"{v:.2f}" for v in values],
                           hovertemplate="%{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(title=title, yaxis=dict(range=[0, 1.02]), height=320, margin=_MARGIN)
    return fig
