"""Figures for the next-sentence-prediction page."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from . import palette

SEGMENT_COLORS = {0: "#bfdbfe", 1: "#fed7aa"}  # segment A blue, segment B orange
SPECIALS = {"[CLS]", "[SEP]", "[PAD]"}


def packed_input(tokens: list[str], segments: list[int], per_row: int = 16, limit: int = 192) -> go.Figure:
    """`[CLS] A [SEP] B [SEP]` as boxes, one per token, coloured by segment (special tokens grey edge)."""
    tokens, segments = tokens[:limit], segments[:limit]
    rows = max(1, -(-len(tokens) // per_row))
    shapes, annotations = [], []  # built as lists and set once: add_shape one by one is quadratic
    for i, (tok, seg) in enumerate(zip(tokens, segments)):
        x, y = i % per_row, -(i // per_row)
        special = tok in SPECIALS
        shapes.append(dict(type="rect", x0=x + 0.04, x1=x + 0.96, y0=y - 0.4, y1=y + 0.4, fillcolor=SEGMENT_COLORS[seg],
                           line=dict(color="#111" if special else "#777", width=2 if special else 1,
                                     dash="solid" if seg == 0 else "dot")))  # segment B: dotted, not only orange
        label = html.escape(tok if len(tok) <= 12 else tok[:11] + "…")  # user text: never read as markup
        annotations.append(dict(x=x + 0.5, y=y, text=f"<b>{label}</b>" if special else label, showarrow=False,
                                font=dict(size=11, color="#111"), hovertext=f"#{i} {html.escape(tok)} · segment {'AB'[seg]}"))
    fig = go.Figure(layout=dict(shapes=shapes, annotations=annotations))
    for seg, name in ((0, "segment A (0)"), (1, "segment B (1)")):  # legend entries
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(size=14, symbol="square" if seg == 0 else "square-open-dot",
                                             color=SEGMENT_COLORS[seg], line=dict(color="#777", width=1))))
    fig.update_xaxes(visible=False, range=[0, per_row])
    fig.update_yaxes(visible=False, range=[-rows + 0.5, 0.5])
    # a white panel and dark labels in both themes: the boxes are light, so the dark theme's light text would vanish
    fig.update_layout(height=60 + 42 * rows, margin=dict(l=5, r=5, t=30, b=5), plot_bgcolor="white",
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def probability_gauge(p: float, title: str = "P(IsNext)") -> go.Figure:
    """The NSP head's IsNext probability on a 0-1 dial; the decision threshold is 0.5."""
    fig = go.Figure(go.Indicator(
        mode="gauge+number", value=p, number=dict(valueformat=".3f"), title=dict(text=title),
        gauge=dict(axis=dict(range=[0, 1]), bar=dict(color="#2563eb" if p >= 0.5 else "#ea580c"),
                   steps=[dict(range=[0, 0.5], color="#ffedd5"), dict(range=[0.5, 1], color="#dbeafe")],
                   threshold=dict(line=dict(color="#111", width=3), value=0.5)),
    ))
    fig.update_layout(height=250, margin=dict(l=20, r=20, t=50, b=10))
    return fig


def confusion_heatmap(confusion: list[list[int]]) -> go.Figure:
    """2 x 2 counts: rows the true label, columns the model's prediction."""
    names = ["IsNext", "NotNext"]
    fig = go.Figure(go.Heatmap(
        z=confusion, x=[f"predicted {n}" for n in names], y=[f"true {n}" for n in names],
        colorscale=palette.MAGNITUDE, text=confusion, texttemplate="%{text}", textfont=dict(size=20), showscale=False,
        hovertemplate="%{y}, %{x}: %{z}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title="Confusion matrix", height=320, margin=dict(l=10, r=10, t=50, b=10))
    return fig


def probability_histogram(probabilities: list[float], labels: list[bool]) -> go.Figure:
    """P(IsNext) for the true IsNext pairs and the true NotNext pairs: good separation = two humps."""
    fig = go.Figure()
    for want, name, color, shape in ((True, "true IsNext", palette.categorical(0), ""),
                                     (False, "true NotNext", palette.categorical(1), "/")):
        fig.add_trace(go.Histogram(x=[p for p, t in zip(probabilities, labels) if t == want], name=name,
                                   xbins=dict(start=0, end=1.0001, size=0.05), marker=dict(color=color, pattern=dict(shape=shape)), opacity=0.65))
    fig.add_vline(x=0.5, line_dash="dash", line_color="#111")
    fig.update_xaxes(range=[0, 1])
    fig.update_layout(barmode="overlay", title="P(IsNext) by true label", xaxis_title="P(IsNext)",
                      yaxis_title="pairs", height=320, margin=dict(l=10, r=10, t=50, b=40),
                      legend=dict(orientation="h"))
    return fig
