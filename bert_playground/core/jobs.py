"""Background jobs: a generator of events run in a thread, owned by one session, under a server-wide cap.

The owner (one Streamlit session) reads `events()` while the thread appends to it; `stop()` sets the flag the
generator checks. The thread never touches the UI. Errors end the job with a message instead of killing the thread.

`Registry` (one per process: `REGISTRY`) is what keeps a shared server safe from its users:
- a cap on concurrent jobs (`BERT_PLAYGROUND_MAX_JOBS`, default from the cores); a job over the cap waits in a
  first-in-first-out queue whose position the owner can read;
- ownership: every job belongs to an owner id (a Streamlit session id); a watchdog thread stops the jobs whose owner
  is gone (the `alive(owner)` check fails for `grace` seconds: a closed tab or a reload) and forgets them;
- jobs are kept by `job.id` (`get`); a job no session owns (`owner=None`: a result every session shares) is never
  stopped by the watchdog and is forgotten by the registry when it ends.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from typing import Callable, Iterator

from . import memory
from .errors import PlaygroundError

ENV_MAX_JOBS = "BERT_PLAYGROUND_MAX_JOBS"
MAX_QUEUE = 16  # jobs waiting beyond this are refused with a message, not queued


def default_max_jobs() -> int:
    """Concurrent training jobs per server: one per two cores (1 on a 2-core machine), or $BERT_PLAYGROUND_MAX_JOBS."""
    raw = (os.environ.get(ENV_MAX_JOBS) or "").strip()
    if raw:
        if not raw.isdecimal() or not 1 <= int(raw) <= 1024:
            raise PlaygroundError(f"{ENV_MAX_JOBS} must be a whole number between 1 and 1024.")
        return int(raw)
    return max(1, (os.cpu_count() or 1) // 2)


class Job:
    def __init__(self, make_events: Callable[[threading.Event], Iterator], name: str = "job",
                 owner: str | None = None):
        self.id = uuid.uuid4().hex  # opaque: safe to put in a URL
        self.name, self.owner = name, owner
        self.stop_flag = threading.Event()
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.on_finish: Callable[["Job"], None] | None = None
        self._make = make_events
        self._events: list = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"bert-playground-{name}", daemon=True)

    def start(self) -> "Job":
        self.started = time.time()
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
            self._make = None  # the closure holds the model and the data: the events keep what the owner reads
            self.finished = time.time()
            if self.on_finish is not None:
                self.on_finish(self)
            memory.trim()  # the run's working memory (model copy, optimiser state, activations) back to the OS

    def release(self) -> None:
        """Forget the events (and the trained model their result holds): nobody will read them any more."""
        with self._lock:
            self._events = []

    def stop(self) -> None:
        self.stop_flag.set()

    def events(self) -> list:
        with self._lock:
            return list(self._events)

    @property
    def stopped(self) -> bool:
        """Stopped on purpose (the Stop button, or the watchdog after its page went away), not failed."""
        return self.stop_flag.is_set()

    @property
    def queued(self) -> bool:
        return self.started is None and self.finished is None

    @property
    def done(self) -> bool:
        return self.finished is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (a queued one first waits for its turn); True when it has ended."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self.done and (end is None or time.monotonic() < end):
            if self._thread.ident is not None:  # started: join what is left of the timeout
                self._thread.join(None if end is None else max(0.0, end - time.monotonic()))
            else:
                time.sleep(0.02)
        return self.done


class Registry:
    """Every job of this process, by id: the cap, the queue, and the watchdog that stops ownerless jobs."""

    def __init__(self, max_jobs: int | None = None, grace: float = 3.0, tick: float = 0.5):
        self._max = max_jobs
        self.grace, self.tick = grace, tick
        self.alive: Callable[[str], bool] | None = None  # owner id -> still connected? (set by the app)
        self._jobs: dict[str, Job] = {}
        self._queue: deque[Job] = deque()
        self._gone_since: dict[str, float] = {}
        self._lock = threading.RLock()
        self._watchdog: threading.Thread | None = None

    @property
    def max_jobs(self) -> int:
        return self._max if self._max is not None else default_max_jobs()

    def running(self) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.started is not None and not j.done]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int | None:
        """1 for the next job to start; None when the job is not waiting."""
        with self._lock:
            return list(self._queue).index(job) + 1 if job in self._queue else None

    def submit(self, job: Job, owner: str | None = None) -> Job:
        """Start the job now if the server is under its cap, else queue it (or refuse when the queue is full)."""
        with self._lock:
            job.owner = owner if owner is not None else job.owner
            if len(self.running()) >= self.max_jobs and len(self._queue) >= MAX_QUEUE:
                raise PlaygroundError(f"The server is busy: {self.max_jobs} training run(s) are going and "
                                      f"{len(self._queue)} are waiting. Try again in a few minutes.")
            job.on_finish = self._finished
            self._jobs[job.id] = job
            self._queue.append(job)
            self._start_waiting()
            self._ensure_watchdog()
        return job

    def cancel(self, job: Job) -> None:
        """Stop a running job, or take a waiting one out of the queue (it ends as 'stopped', never started)."""
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                job.stop_flag.set()
                job.error, job.finished = job.error or "Stopped before it started.", time.time()
                self._jobs.pop(job.id, None)
                return
        job.stop()

    def release(self, owner: str) -> list[Job]:
        """The owner (a session) has ended for good: stop or dequeue its jobs, forget the finished ones and free
        their events. A job still winding down is forgotten by the watchdog once it ends. Returns the jobs touched."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.owner == owner]
        for job in jobs:
            if not job.done:
                self.cancel(job)
            if job.done:
                with self._lock:
                    self._jobs.pop(job.id, None)
                job.release()
        with self._lock:
            self._gone_since.pop(owner, None)
        return jobs

    def _finished(self, job: Job) -> None:
        with self._lock:
            if job.owner is None:  # a shared job (no session owns it): its holder keeps it, the registry need not
                self._jobs.pop(job.id, None)
            self._start_waiting()

    def _start_waiting(self) -> None:
        while self._queue and len(self.running()) < self.max_jobs:
            self._queue.popleft().start()

    # ---- the watchdog --------------------------------------------------------------------------

    def _ensure_watchdog(self) -> None:
        if self._watchdog is None or not self._watchdog.is_alive():
            self._watchdog = threading.Thread(target=self._watch, name="bert-playground-watchdog", daemon=True)
            self._watchdog.start()

    def sweep(self) -> list[Job]:
        """Stop (or dequeue) the jobs whose owner has been gone for `grace` seconds; forget finished ones of
        owners that are gone. Returns the jobs stopped. The watchdog calls this every `tick` seconds."""
        alive, now, stopped = self.alive, time.monotonic(), []
        if alive is None:
            return stopped
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            owner = job.owner
            if owner is None:
                continue
            try:
                ok = alive(owner)
            except Exception:  # a failing check must never kill the watchdog
                ok = True
            if ok:
                self._gone_since.pop(owner, None)
                continue
            since = self._gone_since.setdefault(owner, now)
            if now - since < self.grace:
                continue
            if not job.done:
                job.error = job.error or (f"Stopped: its page was closed or lost its connection for more than "
                                          f"{self.grace:g} s.")
                self.cancel(job)
                stopped.append(job)
            elif job.done:
                with self._lock:  # nobody can read it any more: free its events (and the model they hold)
                    self._jobs.pop(job.id, None)
                job.release()
        return stopped

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            self.sweep()
            with self._lock:
                if not self._jobs:
                    self._gone_since.clear()


REGISTRY = Registry()
