"""`--server URL` (or $BERT_PLAYGROUND_SERVER): the CLI asks a running `serve` instead of loading the model, and prints
the same text or JSON as the local path, notices (`note: ...`) and errors (`error: ...`, exit 2) included.

This path imports neither torch nor transformers: the standard library's HTTP client, the command table's text
formatters and the stdin loop (`batch.py`), so a query costs the interpreter's start and the server's computation.
The command line goes to POST /v1/<command> as its words (`argv`), read there by the command's own parser; `fill -`
and `nsp -` send one request per input line on one kept-alive connection. A 503 (server busy) is retried after its
Retry-After. $BERT_PLAYGROUND_SERVER sends only the commands a server answers; the others run here.
"""
from __future__ import annotations

import http.client
import json
import os
import sys
import time
from urllib.parse import urlsplit

from ..core.errors import PlaygroundError
from ..serve.commands import HTTP_COMMANDS
from .batch import FIELDS, STDIN, each_line

ENV_SERVER = "BERT_PLAYGROUND_SERVER"
TIMEOUT = 600  # seconds for one answer (the first `neighbours` query indexes the corpus: minutes)
RETRIES = 5  # times a 503 is retried


class ServerFault(Exception):
    """The server could not be reached or failed (not the query's fault): exit 1."""


def split_server(argv: list[str]) -> tuple[str | None, bool, list[str]]:
    """(the server's URL or None, whether --server was given, the words without --server URL)."""
    rest, url, explicit, i = [], None, False, 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest += argv[i:]
            break
        if word == "--server" or word.startswith("--server="):
            if word == "--server" and (i + 1 >= len(argv) or argv[i + 1].startswith("-")):
                raise PlaygroundError("--server needs a URL, e.g. --server http://127.0.0.1:8000")
            url, explicit = (argv[i + 1], True) if word == "--server" else (word.partition("=")[2], True)
            i += 2 if word == "--server" else 1
            continue
        rest.append(word)
        i += 1
    return url or (None if explicit else os.environ.get(ENV_SERVER) or None), explicit, rest


def route(argv: list[str]) -> tuple[int | None, list[str]]:
    """(the exit status when a server answered this command line, else None; the words without --server)."""
    try:
        url, explicit, rest = split_server(argv)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2, argv
    command = rest[0] if rest else None
    if url is None or command is None or "-h" in rest or "--help" in rest:
        return None, rest
    if command not in HTTP_COMMANDS:
        if not explicit:
            return None, rest  # $BERT_PLAYGROUND_SERVER: what a server does not answer runs here
        print(f"error: `{command}` does not run on a server (it trains or reads files here); run it without "
              "--server.", file=sys.stderr)
        return 2, rest
    return Client(url).main(command, rest[1:]), rest


class Client:
    def __init__(self, url: str):
        parts = urlsplit(url if "://" in url else f"http://{url}")
        ok = parts.scheme in ("http", "https") and parts.hostname
        self.error = None if ok else f"--server '{url}' is not an http:// URL, e.g. http://127.0.0.1:8000"
        self.url, self.parts, self.base = url, parts, parts.path.rstrip("/")
        self._conn = None

    def main(self, command: str, words: list[str]) -> int:
        """Ask the server, print like the local CLI; the exit status."""
        as_json = "--json" in words
        words = [w for w in words if w != "--json"]
        try:
            if self.error:
                raise PlaygroundError(self.error)
            if command in FIELDS and STDIN in words:  # fill - / nsp -: one request per line, one JSON line out
                each_line(command, lambda values: self.ask(command, {"argv": words, "json": True, **values}))
                return 0
            result = self.ask(command, {"argv": words, "json": as_json})
        except (PlaygroundError, ServerFault, KeyboardInterrupt) as exc:  # exit 2: the query; 1: the server
            print(f"error: {'interrupted' if isinstance(exc, KeyboardInterrupt) else exc}", file=sys.stderr)
            return 2 if isinstance(exc, PlaygroundError) else 1 if isinstance(exc, ServerFault) else 130
        print(json.dumps(result, ensure_ascii=False) if as_json else self.text(command, result))
        return 0

    @staticmethod
    def text(command: str, result: dict) -> str:
        from . import COMMANDS

        formatter = COMMANDS[command].text
        return formatter(result) if formatter else json.dumps(result, indent=1, ensure_ascii=False)

    def ask(self, command: str, body: dict) -> dict:
        """The command's result; its notices printed on stderr; a refusal as PlaygroundError (exit 2)."""
        status, headers, payload = self.post(f"/v1/{command}", json.dumps(body).encode())
        if status == 200:
            for notice in json.loads(headers.get("X-Notices") or "[]"):
                print(f"note: {notice}", file=sys.stderr)
            return json.loads(payload)
        try:
            message = json.loads(payload)["error"]
        except (ValueError, KeyError, TypeError):
            message = payload.decode("utf-8", "replace").strip()[:200] or f"HTTP {status}"
        if 400 <= status < 500:
            raise PlaygroundError(message)
        raise ServerFault(f"the server {'is busy' if status == 503 else 'failed'}: {message}")

    def post(self, path: str, data: bytes):
        """(status, headers, body) of a POST; a 503 is retried after its Retry-After (at most RETRIES times)."""
        for attempt in range(RETRIES + 1):
            status, headers, payload = self._send(self.base + path, data)
            if status != 503 or attempt == RETRIES:
                return status, headers, payload
            try:
                wait = float(headers.get("Retry-After") or 1)
            except ValueError:
                wait = 1.0
            time.sleep(min(max(wait, 0.1), 10))
        raise AssertionError("unreachable")

    def _send(self, path: str, data: bytes):
        for fresh in (False, True):  # a kept-alive connection the server has closed: once more on a new one
            conn = self._connection(fresh)
            try:
                conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                return response.status, response.headers, response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                self._conn = None
                if fresh or isinstance(exc, TimeoutError):
                    raise ServerFault(f"no server answers at {self.url} ({type(exc).__name__}); start one with "
                                      "`python -m bert_playground serve`.") from None
        raise AssertionError("unreachable")

    def _connection(self, fresh: bool):
        if self._conn is None or fresh:
            kind = http.client.HTTPSConnection if self.parts.scheme == "https" else http.client.HTTPConnection
            self._conn = kind(self.parts.hostname, self.parts.port, timeout=TIMEOUT)
        return self._conn
