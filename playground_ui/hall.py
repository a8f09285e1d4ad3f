"""Lecture hall (several replicas behind nginx, see scripts/classroom.sh): say so when a session has moved.

A Streamlit session lives in one server process. When that process stops (a replica killed or restarted), the
browser reconnects on its own, through nginx to another replica, and asks to resume its old session by id (the
third entry of the websocket's Sec-WebSocket-Protocol header). The new process does not know that id and starts a
fresh session: the widgets of the open page keep their values (the browser sends them again with its next rerun)
but everything else the old process held is gone (uploads, fine-tuning runs, trained classifiers, session state).
The first run of such a session tells the student so instead of losing things silently, and file uploaders get
fresh keys (`fresh_key`) so they start empty rather than list a file the new replica never received.

Streamlit's browser code reruns the page after a reconnect only when the page has a timed fragment; otherwise it
waits for the next click, and an upload made before that click would still name the old session (and be refused).
So in a hall (BERT_PLAYGROUND_HALL=1, set by scripts/classroom.sh) every page carries an empty timed fragment:
after a reconnect the page reruns at once on the new replica, and the notice shows without a click.
"""
from __future__ import annotations

import os
import time

import streamlit as st

_KEY = "_hall_session"  # session-state key: {"moved": bool, "at": "HH:MM"}
HEARTBEAT_S = 300  # the empty fragment's interval (its only job is to exist: see above); one tiny run per 5 min
MESSAGE = ("The server this page was connected to stopped, so it reconnected to another one and started a new "
           "session. The inputs on this page are kept; an uploaded file or a fine-tuning run from before is gone: "
           "upload or train again.")
SHORT = "moved to another server. Inputs on this page are kept; earlier uploads and training runs are gone: upload or train again."


def resumed_session_id(headers) -> str | None:
    """The session id a reconnecting browser asks for (Sec-WebSocket-Protocol: streamlit, <xsrf>, <session id>)."""
    raw = headers.get("Sec-WebSocket-Protocol") if headers is not None else None
    entries = [e.strip() for e in (raw or "").split(",")]
    return entries[2] if len(entries) >= 3 and entries[2] else None


def in_hall() -> bool:
    return os.environ.get("BERT_PLAYGROUND_HALL", "") not in ("", "0")


@st.fragment(run_every=HEARTBEAT_S)
def _rerun_after_reconnect():
    """Empty on purpose: a timed fragment makes the browser rerun the page as soon as it reconnects."""


def fresh_key(key: str) -> str:
    """A file uploader's key, new in a moved session: the browser still lists the file it had uploaded to the old
    replica (which the new one never received), so the uploader starts empty instead of showing a lost file."""
    moved = st.session_state.get(_KEY, {}).get("moved", False)
    return f"{key}@moved" if moved else key


def moved_session_notice() -> None:
    """On a session's first run: note whether the browser came from a session this process never had; say so."""
    if _KEY not in st.session_state:
        try:
            headers = st.context.headers
        except Exception:  # no websocket (AppTest, bare mode)
            headers = None
        st.session_state[_KEY] = {"moved": resumed_session_id(headers) is not None, "at": time.strftime("%H:%M")}
        if st.session_state[_KEY]["moved"]:
            st.toast(MESSAGE)
    if st.session_state[_KEY]["moved"]:
        st.sidebar.warning(f"Reconnected at {st.session_state[_KEY]['at']}: {SHORT}")
    if in_hall():
        with st.sidebar:
            _rerun_after_reconnect()
