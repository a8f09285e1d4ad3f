"""The server's bounded worker pool: at most `workers` computations at once, at most `queue` more waiting, and an
immediate refusal (`Busy`, answered 503 with Retry-After) beyond that, so a flood never piles up unbounded work.

The model computations run in these worker threads, never in the event loop, which stays free to read requests,
answer /health and refuse the excess. A slot is given back when its computation ends, even if the client has
gone, so the bound holds for the work actually running."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class Pool:
    def __init__(self, workers: int, queue: int):
        self.workers, self.queue = workers, queue
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bert-playground-worker")
        self._slots = threading.BoundedSemaphore(workers + queue)  # running + waiting

    async def run(self, fn: Callable, *args):
        """fn(*args) in a worker thread; Busy at once when no slot is free."""
        if not self._slots.acquire(blocking=False):
            raise Busy()
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Wait for the computations under way, start no new one."""
        self._executor.shutdown(wait=True, cancel_futures=True)
