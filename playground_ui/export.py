"""Exports: every table as CSV, every figure as PNG/SVG (Plotly's own client-side toImage) and as a standalone
HTML file that works offline (plotly.js embedded). File names come from the page and its inputs."""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from bert_playground.core import csv_cells
from bert_playground.figures import data as figure_data
from bert_playground.figures.describe import describe

from playground_ui import style

if TYPE_CHECKING:  # pandas is imported by the pages that draw tables: the home page starts without it (~0.5 s)
    import pandas as pd

FORMATS = ["png", "svg"]  # what the modebar's camera button saves (chosen once in the sidebar)
FORMAT_KEY = "figure_format"


def slug(text, n: int = 24) -> str:
    """A file-name-safe piece of text."""
    return re.sub(r"[^a-z0-9.]+", "-", str(text).lower()).strip("-")[:n].strip("-") or "x"


def file_name(what: str, ext: str) -> str:
    """<page>_<what>_<inputs>.<ext>: the page and its current inputs (from its spec's values)."""
    spec = st.session_state.get("_page_spec")
    parts = [slug(st.session_state.get("_page", "page")), slug(what)]
    if spec is not None:
        for name, value in list(spec.values().items())[:4]:
            parts.append(f"{slug(name, 10)}-{slug(value, 20)}")
    return "_".join(parts)[:120] + "." + ext


def plotly_config(what: str) -> dict:
    fmt = st.session_state.get(FORMAT_KEY, "png")
    return {"displaylogo": False, "displayModeBar": True,
            "toImageButtonOptions": {"format": fmt, "filename": file_name(what, fmt)[:-len(fmt) - 1], "scale": 2}}


def html(fig: go.Figure, what: str) -> str:
    """A standalone page: the figure with plotly.js embedded (no CDN, works offline)."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config=plotly_config(what))


def chart(fig: go.Figure, key: str, where=None, what: str | None = None, summary: str | None = None):
    """st.plotly_chart with the export options (modebar image in the chosen format, a standalone HTML download, the
    data as CSV) and its text alternative: `summary`, or one sentence computed from the figure's data (`figures.describe`)."""
    from playground_ui.ui import md_escape

    where = where if where is not None else st
    what = what or key
    if style.presenting():
        fig = style.for_projector(fig)
    where.plotly_chart(fig, key=key, config=plotly_config(what), theme=None if style.presenting() else "streamlit")
    where.download_button("Figure as HTML", data=lambda f=fig, w=what: html(f, w), file_name=file_name(what, "html"),
                          mime="text/html", key=f"{key}__html", on_click="ignore", type="tertiary",
                          help="A standalone file with Plotly's JavaScript inside: opens offline, zoom and hover work. "
                               "PNG/SVG: the camera button above the figure (format in the sidebar).")
    if figure_data.has_rows(fig):
        where.download_button("Data as CSV", data=lambda f=fig: csv_cells.write(figure_data.rows(f), figure_data.FIELDS),
                              file_name=file_name(f"{what} data", "csv"), mime="text/csv", key=f"{key}__data",
                              on_click="ignore", type="tertiary",
                              help="The chart's numbers, one row per point: series, x, y and z (a heatmap's cell).")
    where.caption(md_escape(summary or describe(fig)))  # what a screen reader reads: the finding, not "a chart"


def table(df: pd.DataFrame, key: str, where=None, what: str | None = None, **kwargs):
    """st.dataframe and a CSV download of the same table."""
    where = where if where is not None else st
    what = what or key
    import pandas as pd

    data = df.data if hasattr(df, "data") and not isinstance(df, pd.DataFrame) else df  # a Styler: its frame
    where.dataframe(df, key=key, **kwargs)
    where.download_button("Table as CSV", data=lambda d=data: csv_cells.frame_csv(d), file_name=file_name(what, "csv"),
                          mime="text/csv", key=f"{key}__csv", on_click="ignore", type="tertiary")


def records(rows, key: str, what: str, where=None):
    """Downloads of a list of records (an experiment, fine-tuning runs) as CSV and JSON."""
    where = where if where is not None else st
    c1, c2 = where.columns(2)
    c1.download_button("CSV", data=lambda: csv_cells.write(list(rows)), file_name=file_name(what, "csv"),
                       mime="text/csv", key=f"{key}__csv", on_click="ignore", type="tertiary")
    c2.download_button("JSON", data=lambda: json.dumps(rows, indent=1, default=str), file_name=file_name(what, "json"),
                       mime="application/json", key=f"{key}__json", on_click="ignore", type="tertiary")


def format_ui():
    """Sidebar: which format the figures' camera button saves."""
    st.selectbox("Figure download format (camera button)", FORMATS, key=FORMAT_KEY, format_func=str.upper)
