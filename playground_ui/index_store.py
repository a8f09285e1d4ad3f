"""Corpus indexes of the Contextual-embeddings page, shared by every session of the server.

An index is built once per (checkpoint, device, corpus hash, layer, pooling) in a background thread (a `Job`
that never calls Streamlit) and kept, least recently used first out, in one `st.cache_resource` object. A
session that asks for an index another session is building watches the same job instead of starting one.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st

from bert_playground.core.jobs import Job
from playground_ui import jobs
from bert_playground.interpret import neighbours

MAX_INDEXES = 3  # the shipped corpus at one layer of the embedded checkpoint is about 67 MB (float16)


class IndexStore:
    def __init__(self, max_entries: int = MAX_INDEXES):
        self.max_entries = max_entries
        self._indexes: OrderedDict[tuple, neighbours.CorpusIndex] = OrderedDict()
        self._jobs: dict[tuple, Job] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> neighbours.CorpusIndex | None:
        with self._lock:
            if key in self._indexes:
                self._indexes.move_to_end(key)
                return self._indexes[key]
        return None

    def _put(self, key: tuple, index: neighbours.CorpusIndex) -> None:
        with self._lock:
            self._indexes[key] = index
            while len(self._indexes) > self.max_entries:
                self._indexes.popitem(last=False)

    def job(self, key: tuple) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def start(self, key: tuple, bundle, corpus: neighbours.Corpus, layer: int, pooling: str) -> Job:
        """Start building (unless a build of the same key is running) and return the job."""
        def events(stop):
            for step in neighbours.index_steps(bundle, corpus, layer, pooling, stop=stop):
                if isinstance(step, neighbours.CorpusIndex):
                    self._put(key, step)
                    yield neighbours.Progress(len(corpus), len(corpus))
                else:
                    yield step

        with self._lock:
            for k in [k for k, j in self._jobs.items() if j.done and k != key]:  # finished builds: their index is kept above
                del self._jobs[k]
            job = self._jobs.get(key)
            if job is None or job.done:
                job = self._jobs[key] = jobs.submit_shared(Job(events, "corpus-index"))
            return job


@st.cache_resource(max_entries=1, show_spinner=False)
def shared_indexes() -> IndexStore:
    return IndexStore()
