"""The app's own style sheet (every page: contrast in both themes, phones) and presentation mode for a projector:
larger fonts, high contrast (CSS once per run, a Plotly template). The theme's colours are in .streamlit/config.toml."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

# Every page, both themes (issue 31, WCAG 2.1 AA). Streamlit draws a primary button's label in white on the theme's
# primary colour; the dark theme's primary colour is light (so that the values it colours on a dark background are
# readable), so primary buttons get one fixed crimson in both themes: white on it is 7:1. Focus rings are made
# unmistakable for keyboard users. On a phone (<= 640 px) wide tables and code scroll inside their own box, never
# the page, and a link to another page or a metric's value (a checkpoint's path) wraps onto
# a second line rather than being cut short with an ellipsis.
BASE_CSS = """<style>
button[data-testid="stBaseButton-primary"], button[data-testid="stBaseButton-primaryFormSubmit"] {
  background-color: #a8243a !important; border-color: #a8243a !important; color: #ffffff !important; }
button[data-testid="stBaseButton-primary"]:hover, button[data-testid="stBaseButton-primaryFormSubmit"]:hover {
  background-color: #8a1c2f !important; border-color: #8a1c2f !important; }
button[data-testid^="stBaseButton-primary"] p { color: #ffffff !important; }
:focus-visible { outline: 3px solid #0072b2 !important; outline-offset: 2px; }
label:has(input:focus-visible) { outline: 3px solid #0072b2; outline-offset: 2px; border-radius: 4px; }
[data-testid="stPageLink-NavLink"] span, [data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; }
</style>"""

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


def base_css() -> None:
    st.html(BASE_CSS)  # a constant style sheet, never user text


def presentation_css() -> None:
    st.html(CSS)  # a constant style sheet, never user text


def for_projector(fig: go.Figure) -> go.Figure:
    """A copy of the figure in the high-contrast template with large fonts."""
    out = go.Figure(fig)
    out.update_layout(template=PRESENT_TEMPLATE, font=dict(size=20, color="#000000"))
    return out
