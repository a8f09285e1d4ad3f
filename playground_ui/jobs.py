"""The app's side of background jobs and sessions: what a session owns ends with it.

- A job belongs to the session that started it: the watchdog in `bert_playground.core.jobs` asks `alive(session_id)`
  (here Streamlit's runtime: "is this session still connected?"), so a closed tab or a reload stops its training
  within seconds, with no polling in pages.
- A closed session's objects go too (`SessionReaper`): Streamlit keeps a disconnected session (its `session_state`:
  fine-tuning results with their model copy and epoch snapshots, the experiment sheet, remembered results) for
  `server.disconnectedSessionTTL` seconds so that a short network blip can reconnect, but it drops them only lazily,
  when another session connects. The reaper closes every session disconnected for longer than that TTL, releases its
  jobs, collects the garbage and hands the freed memory back to the OS (`memory.trim`).
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Callable

from bert_playground.core import memory
from bert_playground.core.jobs import REGISTRY, Job
from playground_ui import runtime

_LOG = logging.getLogger(__name__)
DEFAULT_TTL = 120.0  # Streamlit's own default for server.disconnectedSessionTTL


def submit(job: Job) -> Job:
    """Queue or start the job under the server's cap, owned by this session."""
    REGISTRY.alive = runtime.connected
    return REGISTRY.submit(job, owner=runtime.session_id())


def submit_shared(job: Job) -> Job:
    """Queue or start a job whose result every session shares (a corpus index): under the server's cap, owned by
    no session, so that one closed tab does not stop what others wait for."""
    REGISTRY.alive = runtime.connected
    return REGISTRY.submit(job, owner=None)


def queue_note(job: Job) -> str | None:
    """'Waiting: 2nd in the queue…' while the job waits for a free slot; None once it runs."""
    pos = REGISTRY.position(job)
    if pos is None:
        return None
    return (f"Waiting for a free slot: this server runs at most {REGISTRY.max_jobs} training run(s) at a time "
            f"and yours is number {pos} in the queue. It starts by itself; Stop takes it out of the queue.")


def stop(job: Job) -> None:
    REGISTRY.cancel(job)


def live(job_key: str, stop_key: str) -> Job | None:
    """Inside a fragment that reruns every second: this session's running job under `job_key`, with its place in
    the queue said and its Stop button drawn; None once it has ended (the whole page then reruns for its result)."""
    import streamlit as st

    job = st.session_state.get(job_key)
    if job is None or job.done:
        st.rerun()
        return None
    waiting = queue_note(job)
    if waiting:
        st.info(waiting)
    if st.button("Stop", key=stop_key):
        stop(job)
    return job


# ---- closed sessions ---------------------------------------------------------------------------

def session_ttl() -> float:
    """Seconds a disconnected session may come back (Streamlit's `server.disconnectedSessionTTL`; read only inside
    a server: outside one, reading an option would load the configuration of whatever folder the process is in)."""
    if runtime.server() is None:
        return DEFAULT_TTL
    try:
        from streamlit import config

        return float(config.get_option("server.disconnectedSessionTTL"))
    except Exception:  # an older Streamlit without the option
        return DEFAULT_TTL


class StreamlitSessions:
    """What the reaper asks of Streamlit's runtime (through `runtime`, the app's one adapter to its internals)."""

    def disconnected(self) -> list[str]:
        return runtime.disconnected_sessions()

    def close(self, sid: str) -> None:
        runtime.close_session(sid)


class SessionReaper:
    """Every `tick` seconds: the sessions disconnected for longer than `ttl` are closed (state cleared), their jobs
    released, the garbage collected and the freed memory handed back to the OS."""

    def __init__(self, sessions: Callable[[], object] = StreamlitSessions, ttl: Callable[[], float] = session_ttl,
                 tick: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.sessions, self.ttl, self.tick, self.clock = sessions, ttl, tick, clock
        self._gone_since: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def sweep(self) -> list[str]:
        """One pass; returns the ids of the sessions released."""
        api, now = self.sessions(), self.clock()
        gone = set(api.disconnected())
        ttl = self.ttl() if gone else 0.0
        for sid in list(self._gone_since):
            if sid not in gone:  # came back, or Streamlit dropped it itself
                self._gone_since.pop(sid)
        released = []
        for sid in gone:
            if now - self._gone_since.setdefault(sid, now) >= ttl:
                api.close(sid)
                REGISTRY.release(sid)
                self._gone_since.pop(sid, None)
                released.append(sid)
        if released:
            gc.collect()  # session objects sit in reference cycles (Streamlit's and ours)
            memory.trim()
        return released

    def _run(self) -> None:
        said = set()
        while True:
            time.sleep(self.tick)
            try:
                self.sweep()
            except Exception as exc:  # never let the reaper die: say it once per kind, try again at the next tick
                # (no traceback: formatting one parses source, which Python 3.11 does not do safely while the
                # server compiles a page in another thread)
                if type(exc) not in said:
                    said.add(type(exc))
                    _LOG.warning("releasing closed sessions failed: %s: %s", type(exc).__name__, exc)

    def start(self) -> "SessionReaper":
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="bert-playground-reaper", daemon=True)
                self._thread.start()
        return self


REAPER = SessionReaper()


def watch_sessions() -> None:
    """Start the process's session reaper once (every page calls this through `ui.setup`); no-op without a server."""
    if runtime.server() is not None:
        REAPER.start()
