"""Streamlit's runtime, where it has no public API: the one module of the app that touches Streamlit internals.

Streamlit (1.67) offers no public way to ask whether a session id is still connected, to list the sessions that
disconnected, or to close one; background jobs and the session reaper (`jobs.py`) need all three, and the job
watchdog needs the id of the session that runs a script. Everything here is guarded (no server: no sessions), and
`tests/test_runtime_adapter.py` fails loudly when a Streamlit upgrade removes or renames any of it.
"""
from __future__ import annotations

import threading


def server():
    """Streamlit's runtime when a real server runs; None in scripts and under AppTest (whose runtime is a mock)."""
    from streamlit.runtime import Runtime

    rt = Runtime.instance() if Runtime.exists() else None
    return rt if type(rt) is Runtime else None


def runtime_exists() -> bool:
    """A Streamlit runtime (a server, or AppTest's) is running in this process."""
    from streamlit.runtime import Runtime

    return Runtime.exists()


def session_id() -> str | None:
    """The id of the session whose script runs in this thread (None outside a script run)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def connected(sid: str) -> bool:
    """Whether session `sid` is still connected (True without a server: AppTest and scripts lose no sessions)."""
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return True
    return Runtime.instance().is_active_session(sid)


def disconnected_sessions() -> list[str]:
    """The ids of the sessions Streamlit keeps although their browser went away (`server.disconnectedSessionTTL`)."""
    rt = server()
    if rt is None:
        return []
    mgr = rt._session_mgr
    return [i.session.id for i in mgr.list_sessions() if not mgr.is_active_session(i.session.id)]


def close_session(sid: str, timeout: float = 10.0) -> None:
    """Clear a disconnected session's state and shut it down, on the server's event loop (Streamlit's rule);
    blocks until done (at most `timeout` s). A session that reconnected meanwhile is left alone."""
    rt, done = server(), threading.Event()
    if rt is None:
        return

    def on_loop():
        try:
            mgr = rt._session_mgr
            info = mgr.get_session_info(sid)
            if info is not None and not mgr.is_active_session(sid):
                info.session.session_state.clear()
                rt.close_session(sid)
        finally:
            done.set()

    rt._get_async_objs().eventloop.call_soon_threadsafe(on_loop)
    done.wait(timeout)
