"""Figures and table colours for the Masked-LM page (pure: data in, figure out)."""
from __future__ import annotations

import html
import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ACTIONS = ["not chosen", "mask", "random", "keep"]
# Light tints of Okabe and Ito's blue, orange and reddish purple (figures/palette.py): told apart under the common
# colour-vision deficiencies, with dark text on them; never the only cue: the table has an Action column, the epochs
# grid a mark per cell (MARKS), the loss bars a fill pattern (PATTERNS).
COLORS = {"not chosen": "#f3f4f6", "mask": "#a6d4f2", "random": "#f5c77e", "keep": "#e3b5d0"}
MARKS = {"not chosen": "", "mask": "<sup>M</sup>", "random": "<sup>R</sup>", "keep": "<sup>K</sup>"}
PATTERNS = {"mask": "", "random": "/", "keep": "."}


def action_name(action) -> str:
    return action if isinstance(action, str) and action in COLORS else "not chosen"


def token_table_css(df: pd.DataFrame, colored=("Corrupted input", "Action")) -> pd.DataFrame:
    """CSS per cell for `df.style.apply(..., axis=None)`: the `colored` columns take their row's action colour."""
    css = pd.DataFrame("", index=df.index, columns=df.columns)
    for col in colored:
        css[col] = [f"background-color: {COLORS[action_name(a)]}; color: #111" for a in df["Action"]]
    return css


def _esc(tokens) -> list[str]:
    return [html.escape(str(t)) for t in tokens]  # tokens are user text: never let Plotly read them as markup


def _layout(title: str, xaxis_title: str | None = None, yaxis_title: str | None = None, **rest) -> dict:
    """A layout given whole to go.Figure: the same figure as fig.update_layout(...) after it, built 3-4x faster
    (the update_* calls validate property by property), which is most of a chart's cost on a rerun."""
    out = dict(title=dict(text=title), **rest)
    for axis, text in (("xaxis", xaxis_title), ("yaxis", yaxis_title)):
        if text is not None:
            out[axis] = {**out.get(axis, {}), "title": dict(text=text)}
    return out


def prediction_bars(tokens: list[str], probabilities: list[float], title: str) -> go.Figure:
    """Top-k guesses at one mask, most probable on top."""
    return go.Figure(go.Bar(x=probabilities, y=_esc(tokens), orientation="h", marker_color="#6366f1",
                            text=[f"{p:.1%}" for p in probabilities], textposition="auto",
                            hovertemplate="%{y}: %{x:.4f}<extra></extra>"),
                     _layout(title=html.escape(title), xaxis_title="probability", height=90 + 28 * len(tokens),
                             margin=dict(l=10, r=10, t=40, b=40), yaxis=dict(autorange="reversed", type="category")))


def loss_bars(positions: list[int], labels: list[str], actions: list[str], losses: list[float]) -> go.Figure:
    """Per-position loss -log p(original) at the chosen positions, coloured by action."""
    bars = [go.Bar(x=[f"{positions[i]}: {html.escape(labels[i])}" for i in idx], y=[losses[i] for i in idx],
                   name=a, marker=dict(color=COLORS[a], line=dict(color="#555", width=1), pattern=dict(shape=PATTERNS[a])),
                   hovertemplate="%{x}<br>loss %{y:.3f}<extra>" + a + "</extra>")
            for a in ACTIONS[1:] if (idx := [i for i, x in enumerate(actions) if x == a])]
    return go.Figure(bars, _layout(
        title="Loss at each chosen position (−log p(original token))", yaxis_title="loss (nats)", height=340,
        margin=dict(l=10, r=10, t=50, b=40), legend=dict(orientation="h"),
        xaxis=dict(type="category", categoryorder="array",
                   categoryarray=[f"{p}: {html.escape(t)}" for p, t in zip(positions, labels)])))


def epochs_grid(input_tokens: list[list[str]], actions: list[list[str | None]], title: str) -> go.Figure:
    """One row per epoch: what the model reads at each position, coloured by action."""
    code = {a: i for i, a in enumerate(ACTIONS)}
    z = [[code[action_name(a)] for a in row] for row in actions]
    scale = []
    for i, a in enumerate(ACTIONS):
        scale += [[i / len(ACTIONS), COLORS[a]], [(i + 1) / len(ACTIONS), COLORS[a]]]
    return go.Figure(go.Heatmap(
        z=z, text=[[html.escape(str(t)) + MARKS[action_name(a)] for t, a in zip(tr, ar)]
                   for tr, ar in zip(input_tokens, actions)],
        texttemplate="%{text}", colorscale=scale, zmin=-0.5,
        zmax=len(ACTIONS) - 0.5, showscale=False, xgap=2, ygap=2,
        customdata=[[action_name(a) for a in row] for row in actions],
        hovertemplate="epoch %{y}, position %{x}: %{text} (%{customdata})<extra></extra>",
    ), _layout(title=f"{title} (marks: M [MASK], R random token, K kept)", xaxis_title="position",
               height=80 + 42 * len(z), margin=dict(l=10, r=10, t=40, b=40),
               plot_bgcolor="white",
               yaxis=dict(autorange="reversed", tickvals=list(range(len(z))), ticktext=[f"epoch {i + 1}" for i in range(len(z))])))


def stats_chart(rows: list[dict]) -> go.Figure:
    """One panel per share, zoomed on it: the expected value, its binomial band, and the observed dot."""
    rows = [r for r in rows if r["out_of"] and not math.isnan(r["observed"])]
    fig = make_subplots(rows=1, cols=max(len(rows), 1), subplot_titles=[r["quantity"].replace(" (", "<br>(") for r in rows],
                        horizontal_spacing=0.08)
    for i, r in enumerate(rows, start=1):
        first = i == 1
        fig.add_trace(go.Scatter(
            x=[0, 1], y=[r["high"]] * 2, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"), 1, i)
        fig.add_trace(go.Scatter(
            x=[0, 1], y=[r["low"]] * 2, mode="lines", line=dict(width=0), fill="tonexty", fillcolor="rgba(99,102,241,0.2)",
            name="expected ± 3σ (binomial)", showlegend=first, legendgroup="band",
            hovertemplate=f"band {r['low']:.4f} – {r['high']:.4f}<extra></extra>"), 1, i)
        fig.add_trace(go.Scatter(
            x=[0, 1], y=[r["expected"]] * 2, mode="lines", line=dict(color="#555", dash="dash"), name="expected",
            showlegend=first, legendgroup="expected", hovertemplate=f"expected {r['expected']:.3f}<extra></extra>"), 1, i)
        fig.add_trace(go.Scatter(
            x=[0.5], y=[r["observed"]], mode="markers", name="observed", showlegend=first, legendgroup="observed",
            marker=dict(size=12, color="#009e73" if r["inside"] else "#d55e00",
                        symbol="circle" if r["inside"] else "x"),  # outside the band: a cross, not only a colour
            hovertemplate=f"observed {r['observed']:.4f} ({r['count']:,} of {r['out_of']:,})<extra></extra>"), 1, i)
        half = max(r["high"] - r["expected"], abs(r["observed"] - r["expected"]), 1e-3) * 1.6
        fig.update_yaxes(range=[r["expected"] - half, r["expected"] + half], row=1, col=i)
    fig.update_xaxes(visible=False, range=[0, 1])
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Observed shares vs expected", height=360, margin=dict(l=10, r=10, t=80, b=30),
                      legend=dict(orientation="h", y=-0.05))
    return fig


def draws_histogram(chosen_per_draw: list[int], eligible: int, rate: float) -> go.Figure:
    """How many tokens each draw chose, against the expected count."""
    fig = go.Figure(go.Histogram(x=list(chosen_per_draw), marker_color="#6366f1", name="draws",
                                 hovertemplate="%{x} chosen: %{y} draws<extra></extra>"))
    fig.add_vline(x=rate * eligible, line=dict(color="#111", dash="dash"),
                  annotation_text=f"expected {rate * eligible:.1f}")
    fig.update_layout(title=f"Chosen tokens per draw (of {eligible} that may be chosen)", xaxis_title="tokens chosen",
                      yaxis_title="draws", height=320, margin=dict(l=10, r=10, t=50, b=40), bargap=0.05)
    return fig
