"""What every command shares: the one-line argument errors, the --model and --json options, defaults read from a
config dataclass, notices on stderr (or collected, for a server's answer), and loading the model (held once per
process while `holding_models()` is on: `serve` and the stdin batch mode)."""
from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
from contextlib import contextmanager
from contextvars import ContextVar


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def model_arg(p, required=False):
    p.add_argument("--model", default=None, required=required,
                   help="'embedded' (default, or $BERT_PLAYGROUND_MODEL), a local folder, or a Hub id")


def json_arg(p):
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def config_defaults(config_class) -> dict:
    """{field: default} of a config dataclass, so argparse never restates a default."""
    return {f.name: f.default for f in dataclasses.fields(config_class) if f.default is not dataclasses.MISSING}


_NOTICES: ContextVar[list | None] = ContextVar("notices", default=None)


def print_notices(notices) -> None:
    sink = _NOTICES.get()
    for notice in notices:
        if sink is not None:
            sink.append(str(notice))
        else:
            print(f"note: {notice}", file=sys.stderr)


@contextmanager
def collecting_notices():
    """Within it, this thread's notices go into the yielded list instead of stderr (a server answers with them)."""
    token = _NOTICES.set([])
    try:
        yield _NOTICES.get()
    finally:
        _NOTICES.reset(token)


_HELD: dict | None = None  # while holding_models() is on: (kind, name) -> the loaded model
_HELD_LOCK = threading.Lock()


@contextmanager
def holding_models():
    """Within it, each model is loaded once per (kind, name) and then shared: many queries (`fill -`) or requests
    (`serve`) read one copy. Models are read-only, so sharing them between threads is safe."""
    global _HELD
    outer = _HELD
    _HELD = {} if outer is None else outer
    try:
        yield
    finally:
        _HELD = outer


def held(kind: str, name, load):
    """`load()`, or the model already held under (kind, name) when holding_models() is on."""
    if _HELD is None:
        return load()
    with _HELD_LOCK:
        if (kind, name) not in _HELD:
            _HELD[(kind, name)] = load()
        return _HELD[(kind, name)]


def load_named(name):
    """The checkpoint `name` (held under `serve`), with what a user should know about how it was read said."""
    from ..checkpoints.models import load

    bundle = held("bundle", name, lambda: load(name))
    print_notices(bundle.info.notices)
    return bundle


def load_tokenizer(args):
    """The checkpoint's tokenizer alone (no weights), or the one of the model held under that name."""
    from ..objectives.mlm import load_tokenizer as read

    return held("tokenizer", args.model, lambda: read(args.model))


def load_model(args):
    return load_named(args.model)


def not_utf8(args) -> str | None:
    """The name of the first argument whose bytes were not UTF-8 (Python keeps them as lone surrogates), or None."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(text, str) and any("\udc80" <= c <= "\udcff" for c in text):
                return name
    return None
