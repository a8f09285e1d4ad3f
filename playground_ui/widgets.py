"""Generic widget helpers shared by the pages (no model code here)."""
from __future__ import annotations

import streamlit as st


def fit(key: str, top, default=None):
    """Keep a widget's remembered value inside its new range (another input or model may be smaller)."""
    value = st.session_state.get(key, default)
    if isinstance(value, tuple):
        value = (min(value[0], top - 1), min(value[1], top))
    elif value is not None:
        value = min(value, top)
    if value is not None:
        st.session_state[key] = value


def pick(label: str, n: int, key: str, last: bool = False, disabled: bool = False) -> int:
    """A 1-based slider (a caption when there is only one choice), returned 0-based."""
    if n == 1:
        st.caption(f"{label}: 1 (the model has only one)")
        return 0
    fit(key, n, n if last else 1)
    return st.slider(label, 1, n, key=key, disabled=disabled) - 1


def notices(items) -> None:
    """Show a result's notices once each: st.info or st.warning by their level."""
    for notice in items:
        (st.warning if getattr(notice, "level", "info") == "warning" else st.info)(notice)


def bump(key: str, start: int = 0):
    """on_click helper: add 1 to a counter in session state (resample buttons)."""
    st.session_state[key] = int(st.session_state.get(key, start)) + 1


def sentence_pair(key_a: str, key_b: str, a: str, b: str, height: int = 90) -> tuple[str, str]:
    """Two side-by-side text areas: sentence A and an optional sentence B (a value already kept for a key wins)."""
    c1, c2 = st.columns(2)
    return (c1.text_area("Sentence A", None if key_a in st.session_state else a, key=key_a, height=height) or "",
            c2.text_area("Sentence B (optional)", None if key_b in st.session_state else b, key=key_b, height=height) or "")


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MB" if nbytes >= 2**20 else f"{nbytes / 1024:.1f} KB"


def upload_status(uploads, max_mb: int) -> None:
    """Under file uploaders: the size cap in our words and which file is in use. A file over the cap is refused by
    the browser (Streamlit's red chip) and never reaches the server, which cannot see the chip: so the page names
    the file it reads, and says that a refused one leaves it unchanged."""
    from playground_ui.ui import md_escape

    used = [f"**{md_escape(u.name)}** ({_size(u.size)})" for u in uploads if u is not None]
    cap = (f"Files of up to {max_mb} MB: a larger one is refused by your browser (a red chip, 'File must be … or "
           "smaller') and never reaches the server")
    st.caption(f"In use: {' and '.join(used)}. {cap}, so it leaves the file in use unchanged." if used else f"{cap}.")


def views_ui(label: str, views: dict, key: str, *args):
    """A row of choices (one per view) and the chosen view drawn: `views[choice](*args)`."""
    views[st.radio(label, list(views), horizontal=True, key=key)](*args)
