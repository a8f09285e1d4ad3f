"""The app's side of background jobs: a job belongs to the session that started it and stops when that session ends.

The watchdog in `bert_playground.jobs` asks `alive(session_id)`; here that is Streamlit's runtime ("is this
session still connected?"), so a closed tab or a reload stops its training within seconds, with no polling in pages.
"""
from __future__ import annotations

import streamlit as st

from bert_playground.jobs import REGISTRY, Job


def _alive(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not Runtime.exists():  # AppTest and scripts: no server, no sessions to lose
        return True
    return Runtime.instance().is_active_session(session_id)


def session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def submit(job: Job) -> Job:
    """Queue or start the job under the server's cap, owned by this session."""
    REGISTRY.alive = _alive
    return REGISTRY.submit(job, owner=session_id())


def queue_note(job: Job) -> str | None:
    """'Waiting: 2nd in the queue…' while the job waits for a free slot; None once it runs."""
    pos = REGISTRY.position(job)
    if pos is None:
        return None
    return (f"Waiting for a free slot: this server runs at most {REGISTRY.max_jobs} training run(s) at a time "
            f"and yours is number {pos} in the queue. It starts by itself; Stop takes it out of the queue.")


def stop(job: Job) -> None:
    REGISTRY.cancel(job)
