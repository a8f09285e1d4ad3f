"""Figures for the 'How this model was pre-trained' section."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import palette


def _series(rows: list[dict], key: str) -> tuple[list, list]:
    pts = [(r["tokens_seen"], r[key]) for r in rows if r.get(key) not in ("", None)]
    return [p[0] for p in pts], [p[1] for p in pts]


def chunk_starts(rows: list[dict]) -> list[tuple[int, float]]:
    """(chunk, tokens seen when it started) for each chunk after the first, from the log's `chunk` column (written
    by scripts/ship_checkpoint.py --chunk); a row without it belongs to chunk 1, a log without it has one chunk."""
    starts, current, tokens = [], 1, 0.0
    for r in rows:
        chunk = int(r.get("chunk") or 1)
        if chunk != current:
            starts.append((chunk, tokens))
            current = chunk
        tokens = r["tokens_seen"]
    return starts


def training_curves(rows: list[dict]) -> go.Figure:
    """Training losses and held-out accuracies against tokens seen; a dotted line where each later chunk of a
    continued pre-training started (one curve across chunks: the log counts tokens from the first chunk's start)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Training loss", "Held-out accuracy (15% masking, 80/10/10)"))
    for key, name in (("mlm_loss", "MLM loss"), ("nsp_loss", "NSP loss")):
        x, y = _series(rows, key)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name), row=1, col=1)
    for key, name in (("eval_mlm_accuracy", "MLM accuracy"), ("eval_nsp_accuracy", "NSP accuracy")):
        x, y = _series(rows, key)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name), row=1, col=2)
    for chunk, x in chunk_starts(rows):
        line = dict(x=x, line_dash="dot", line_color="gray", row=1)
        fig.add_vline(col=1, annotation_text=f"chunk {chunk}", annotation_position="top left", **line)
        fig.add_vline(col=2, **line)
    fig.update_xaxes(title_text="tokens seen")
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    # legend above the plots: below them it would cover the x-axis titles
    fig.update_layout(height=400, margin=dict(l=10, r=10, t=80, b=40),
                      legend=dict(orientation="h", yanchor="bottom", y=1.12, xanchor="left", x=0))
    return fig


LAB_COLORS = tuple(palette.CATEGORICAL[:4])


def lab_curves(runs: list[dict]) -> go.Figure:
    """Held-out MLM accuracy at every snapshot of each run (by tokens seen), with each run's unigram baseline
    (dashed): the accuracy of always guessing the corpus's most frequent token, which a model must beat first."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        color = LAB_COLORS[i % len(LAB_COLORS)]
        snaps = run["snapshots"]
        fig.add_trace(go.Scatter(x=[s["tokens"] for s in snaps], y=[s["mlm_accuracy"] for s in snaps], mode="lines+markers",
                                 name=run["label"], line=dict(color=color, width=3),
                                 marker=dict(symbol=palette.SYMBOLS[i % len(palette.SYMBOLS)], size=8),
                                 hovertemplate="%{x:,} tokens: %{y:.3f}<extra></extra>"))
        if run.get("unigram") is not None and snaps:
            fig.add_trace(go.Scatter(x=[snaps[0]["tokens"], snaps[-1]["tokens"]], y=[run["unigram"]] * 2, mode="lines",
                                     name=f"{run['label']}: unigram baseline", line=dict(color=color, dash="dash", width=1)))
    fig.update_layout(title="Held-out masked-LM accuracy (15%, 80/10/10) as the model learns", height=420,
                      xaxis_title="tokens seen", yaxis_title="MLM accuracy", margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return fig


def lab_losses(rows: list[dict]) -> go.Figure:
    """The training losses of the run as it goes."""
    fig = go.Figure()
    for key, name in (("mlm_loss", "MLM loss"), ("nsp_loss", "pair-task loss")):
        pts = [(r["tokens_seen"], r[key]) for r in rows if r.get(key) not in ("", None)]
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines", name=name))
    fig.update_layout(title="Training loss", height=360, xaxis_title="tokens seen", margin=dict(l=10, r=10, t=50, b=10))
    return fig
