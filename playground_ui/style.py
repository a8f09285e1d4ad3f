"""Presentation mode for a projector: larger fonts, high contrast (CSS once per run, a Plotly template)."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

CSS = """<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 22px; color: #000; background: #fff; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], label, .stMarkdown { font-size: 1.15rem !important; color: #000 !important; }
h1 { font-size: 3rem !important; } h2, h3 { font-size: 2.1rem !important; }
[data-testid="stMetricValue"] { font-size: 3rem !important; }
a { color: #0033cc !important; text-decoration: underline; }
</style>"""

PRESENT_TEMPLATE = go.layout.Template(layout=dict(
    font=dict(size=20, color="#000000"), paper_bgcolor="#ffffff", plot_bgcolor="#ffffff",
    title=dict(font=dict(size=24)), colorway=["#0033cc", "#cc0000", "#007a00", "#000000", "#e69f00", "#9900cc"],
    xaxis=dict(gridcolor="#888888", linecolor="#000000", tickfont=dict(size=18)),
    yaxis=dict(gridcolor="#888888", linecolor="#000000", tickfont=dict(size=18))))


def presenting() -> bool:
    return bool(st.session_state.get("present"))


def presentation_css() -> None:
    st.html(CSS)  # a constant style sheet, never user text


def for_projector(fig: go.Figure) -> go.Figure:
    """A copy of the figure in the high-contrast template with large fonts."""
    out = go.Figure(fig)
    out.update_layout(template=PRESENT_TEMPLATE, font=dict(size=20, color="#000000"))
    return out
