"""Structured text a user controls (exercise sets in YAML or JSON, SQuAD JSON, a checkpoint's config.json): read
with limits on nesting depth and on YAML aliases applied while it is parsed, before any data is built, and refused
with messages of bounded length that never repeat the file.

Why: a 518-byte YAML document of nested anchors and aliases expands to hundreds of millions of items once
something walks it (a validator, or an error message that prints it), and 100 kB of nested brackets exhausts
Python's recursion in any recursive parser or walker.
"""
from __future__ import annotations

import json
import re

import yaml

from .errors import PlaygroundError

MAX_DEPTH = 64  # nested lists/objects: no format the playground reads needs more than a handful
MAX_ALIASES = 50  # YAML aliases (*name) in one document: enough for a teacher's shortcuts, never a bomb
MAX_MESSAGE = 160  # characters of a parser's own message kept in ours
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')  # a JSON string, escapes included
_BRACKETS = re.compile(r"[\[\]{}]")


def capped(message: str, limit: int = MAX_MESSAGE) -> str:
    """A message cut to `limit` characters, on one line."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_depth(text: str) -> int:
    """The deepest nesting of lists and objects in JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for b in _BRACKETS.findall(_STRING.sub("", text)):
        depth += 1 if b in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(text: str, name: str, max_depth: int = MAX_DEPTH):
    """JSON text as Python data, refused before parsing when it nests deeper than `max_depth`."""
    if json_depth(text) > max_depth:
        raise PlaygroundError(f"{name} nests lists or objects more than {max_depth} levels deep.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlaygroundError(f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                              f"{capped(exc.msg, 60)}).") from None
    except RecursionError:  # cannot happen below max_depth; never a traceback if it does
        raise PlaygroundError(f"{name} nests too deeply to read.") from None


class _Limited(yaml.SafeLoader):
    """PyYAML's safe loader (pure Python), counting aliases and nesting as it composes the document."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _TooMuch(f"uses more than {MAX_ALIASES} YAML aliases (*name)")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooMuch(f"nests lists or mappings more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooMuch(Exception):
    pass


def load_yaml(text: str, name: str):
    """YAML (or JSON, a subset of it) as Python data, with the alias and depth limits applied while composing."""
    loader = None
    try:
        loader = _Limited(text)  # the reader already refuses some characters here
        return loader.get_single_data()
    except _TooMuch as why:
        raise PlaygroundError(f"{name} {why}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise PlaygroundError(f"{name} is not valid YAML or JSON{where}.") from None
    except RecursionError:
        raise PlaygroundError(f"{name} nests too deeply to read.") from None
    finally:
        if loader is not None:
            loader.dispose()
