"""`fill -` and `nsp -`: many queries from standard input, one JSON line out for each, the model loaded once.

A query per non-blank line (`nsp`: the two sentences separated by a tab). Each answer is exactly what the command
prints with `--json`, on one line; a query the package refuses gets `{"error": "..."}` on its line instead, so the
output lines follow the input lines, and the run ends with exit status 2 once every line is answered. Plain
standard library: the `--server` client (`client.py`) reads its queries with this same loop.
"""
from __future__ import annotations

import json
import sys
from typing import Callable

from ..core.errors import PlaygroundError

STDIN = "-"  # the text argument that means "read the queries from standard input"
FIELDS = {"fill": ("text",), "nsp": ("sent_a", "sent_b")}  # what one line fills in, per command


def split_line(line: str, fields: tuple[str, ...]) -> dict[str, str]:
    """{field: value} of one input line: the whole line for one field, tab-separated values for several."""
    values = line.split("\t", len(fields) - 1) if len(fields) > 1 else [line]
    if len(values) != len(fields):
        raise PlaygroundError(f"this line needs {len(fields)} values separated by a tab ({', '.join(fields)}).")
    return dict(zip(fields, values))


def each_line(command: str, query: Callable[[dict], dict]) -> None:
    """Answer every non-blank line of standard input with `query({field: value})`, printing one JSON line each;
    raise PlaygroundError at the end when some lines were refused (their lines say why)."""
    fields, total, failed = FIELDS[command], 0, 0
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        total += 1
        try:
            out = query(split_line(line, fields))
        except PlaygroundError as exc:
            failed += 1
            out = {"error": str(exc)}
        print(json.dumps(out, ensure_ascii=False), flush=True)
    if failed:
        raise PlaygroundError(f"{failed} of {total} queries failed (their output lines say why).")
