"""Figures for the Tokenizer lab (pure: data in, figure out)."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

FONT = dict(size=15)
KIND_NAMES = {"word": "whole words", "continuation": "pieces inside a word", "character": "single characters",
              "unused": "unused slots", "special": "special tokens"}


def composition(counts: dict[str, int]) -> go.Figure:
    """What the vocabulary's entries are."""
    kinds = [k for k in KIND_NAMES if counts.get(k)]
    fig = go.Figure(go.Bar(x=[counts[k] for k in kinds], y=[KIND_NAMES[k] for k in kinds], orientation="h",
                           marker_color="#1e3a8a", text=[f"{counts[k]:,}" for k in kinds], textposition="outside",
                           hovertemplate="%{y}: %{x:,}<extra></extra>"))
    fig.update_layout(title="Entries of the vocabulary", font=FONT, height=320, xaxis_title="entries",
                      margin=dict(l=10, r=40, t=50, b=10))
    fig.update_yaxes(autorange="reversed")
    return fig


def tradeoff(rows: list[dict]) -> go.Figure:
    """Tokens per word (left axis) and embedding parameters (right axis) against vocabulary size."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for algorithm in dict.fromkeys(r["algorithm"] for r in rows):
        pts = sorted((r["size"], r["fertility"], r["embedding_parameters"]) for r in rows if r["algorithm"] == algorithm)
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                 name=f"{algorithm}: tokens per word"), secondary_y=False)
    pts = sorted({(r["size"], r["embedding_parameters"]) for r in rows})
    fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", name="embedding parameters",
                             line=dict(dash="dot", color="#6b7280")), secondary_y=True)
    fig.update_xaxes(title_text="vocabulary size", type="log")
    fig.update_yaxes(title_text="tokens per word (held out)", secondary_y=False)
    fig.update_yaxes(title_text="embedding parameters", secondary_y=True)
    fig.update_layout(title="Vocabulary size: fewer tokens per word, more parameters", font=FONT, height=420,
                      margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", y=1.12, x=0))
    return fig
