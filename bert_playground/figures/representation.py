"""Figures for the input-representation page."""
from __future__ import annotations

import html

import plotly.graph_objects as go

from . import palette

PART_LABELS = ["Token embedding", "Segment embedding", "Position embedding", "Sum", "LayerNorm(sum)"]


def vectors_heatmap(vectors: list[list[float]], token: str) -> go.Figure:
    """The five vectors of one token as rows of a heatmap over the hidden dimensions."""
    fig = go.Figure(go.Heatmap(
        z=vectors, y=PART_LABELS, colorscale=palette.SIGNED, zmid=0,
        hovertemplate="%{y}<br>dimension %{x}<br>value %{z:.4f}<extra></extra>",
    ))
    fig.update_layout(title=f"Embedding vectors of '{html.escape(token)}' (one row per vector, one column per dimension)",
                      xaxis_title="hidden dimension", height=330, margin=dict(l=10, r=10, t=50, b=40))
    fig.update_yaxes(autorange="reversed")
    return fig


def vectors_lines(vectors: list[list[float]], dims: int = 48) -> go.Figure:
    """The first `dims` dimensions of each vector as lines: the sum is token + segment + position."""
    fig = go.Figure()
    for label, vec in zip(PART_LABELS, vectors):
        fig.add_trace(go.Scatter(y=vec[:dims], mode="lines+markers", name=label,
                                 line=dict(dash="dot" if label == "LayerNorm(sum)" else "solid")))
    fig.update_layout(title=f"First {min(dims, len(vectors[0]))} dimensions", xaxis_title="hidden dimension",
                      yaxis_title="value", height=380, margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h"))
    return fig


def input_diagram(tokens: list[str], segments: list[int]) -> go.Figure:
    """Figure 2 of the BERT paper for this input: token, segment and position embeddings stacked."""
    n = len(tokens)
    esc = [html.escape(t) for t in tokens]  # tokens are user text: never let Plotly read them as markup
    rows = [("Input", esc), ("Token", [f"E<sub>{t}</sub>" for t in esc]),
            ("Segment", [f"E<sub>{'AB'[s]}</sub>" for s in segments]), ("Position", [f"E<sub>{i}</sub>" for i in range(n)])]
    colors = {"Input": "#ffffff", "Token": "#fde68a", "Segment": "#bbf7d0", "Position": "#e9d5ff"}
    shapes, notes = [], []  # built as lists and set once: add_shape/add_annotation one by one is quadratic
    for r, (name, labels) in enumerate(rows):
        for i, lab in enumerate(labels):
            shapes.append(dict(type="rect", x0=i + 0.05, x1=i + 0.95, y0=-r - 0.4, y1=-r + 0.4,
                               fillcolor=colors[name], line=dict(color="#555", width=1)))
            notes.append(dict(x=i + 0.5, y=-r, text=lab, showarrow=False, font=dict(size=12)))
    fig = go.Figure(layout=dict(shapes=shapes, annotations=notes))
    fig.update_xaxes(visible=False, range=[0, max(n, 1)])
    fig.update_yaxes(tickvals=[0, -1, -2, -3], ticktext=[r[0] for r in rows], range=[-3.6, 0.6])
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white", showlegend=False)
    return fig
