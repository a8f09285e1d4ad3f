"""A generator of events run in a background thread, so a long computation never blocks the app.

The owner (one Streamlit session) keeps the Job object in its own session state and reads
`events()` while the thread appends to it; `stop()` sets the flag the generator checks. The
thread never touches the UI. Errors end the job with a message instead of killing the thread.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterator

from .errors import PlaygroundError


class Job:
    def __init__(self, make_events: Callable[[threading.Event], Iterator], name: str = "job"):
        self.name = name
        self.stop_flag = threading.Event()
        self.finished: float | None = None
        self.error: str | None = None
        self._make = make_events
        self._events: list = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"bert-playground-{name}", daemon=True)

    def start(self) -> "Job":
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for ev in self._make(self.stop_flag):
                with self._lock:
                    self._events.append(ev)
        except PlaygroundError as exc:
            self.error = str(exc)
        except Exception as exc:  # never let the thread die silently: the page shows the message
            first = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.error = f"The run failed: {type(exc).__name__}: {first}"
        finally:
            self.finished = time.time()

    def stop(self) -> None:
        self.stop_flag.set()

    def events(self) -> list:
        with self._lock:
            return list(self._events)

    @property
    def done(self) -> bool:
        return self.finished is not None

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return self.done
