"""What one server accepts: the size of a request, of its texts, the worker pool and its queue; and the one refusal
(`RequestError`: an HTTP status and a one-line message) every check raises. No torch, no web framework."""
from __future__ import annotations

import os
from dataclasses import dataclass

from ..core.device import cpu_threads
from ..core.errors import PlaygroundError


class RequestError(Exception):
    """A request the server refuses: `status` (400 malformed, 404 not here, 413 too large, 422 invalid) and a
    one-line message for the client (the package's rule: control characters escaped, at most 300 characters)."""

    def __init__(self, status: int, message: str):
        self.message = str(PlaygroundError(message)) or "bad request"
        super().__init__(self.message)
        self.status = status


def default_workers() -> int:
    """Computations at once: the cores divided by the torch threads each one uses (at least one)."""
    return max(1, (os.cpu_count() or 1) // cpu_threads())


@dataclass(frozen=True)
class Limits:
    workers: int = 0  # computations at once (0: default_workers())
    queue: int = 16  # requests waiting for a worker; more get 503 with Retry-After
    max_body: int = 256 * 1024  # bytes of a request body (413 beyond): a 20,000-character passage, escaped
    max_text: int = 2_000  # characters of one text (the app's cap); 413 beyond
    max_context: int = 20_000  # characters of a QA passage (the app's cap on pasted documents)
    max_attention_text: int = 600  # `attention` answers every weight (layers x heads x T x T): shorter texts
    max_items: int = 64  # texts in one list argument (context's sentences, classify's texts)
    max_top_k: int = 100  # guesses per mask (top_k), neighbours (k)
    retry_after: int = 1  # seconds a 503 asks the client to wait

    def __post_init__(self):
        if self.workers <= 0:
            object.__setattr__(self, "workers", default_workers())
        for name in ("queue", "max_body", "max_text", "max_items"):
            if getattr(self, name) < (0 if name == "queue" else 1):
                raise PlaygroundError(f"--{name.replace('_', '-')} must be {'0 or more' if name == 'queue' else 'positive'}.")

    def text_cap(self, command: str, field: str) -> int:
        """Characters allowed in one text of this command's field."""
        if field == "context" and command in ("predict", "question-answering"):
            return self.max_context
        return self.max_attention_text if command == "attention" else self.max_text


def check_text(value: str, cap: int, field: str) -> str:
    if len(value) > cap:
        raise RequestError(413, f"'{field}' has {len(value):,} characters; this server takes at most {cap:,}.")
    return value
