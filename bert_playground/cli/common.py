"""What every command shares: the one-line argument errors, the --model and --json options, defaults read from a
config dataclass, notices on stderr, and loading the model."""
from __future__ import annotations

import argparse
import dataclasses
import sys


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


def print_notices(notices) -> None:
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)


def load_model(args):
    from ..checkpoints.models import load

    bundle = load(args.model)
    print_notices(bundle.info.notices)
    return bundle


def not_utf8(args) -> str | None:
    """The name of the first argument whose bytes were not UTF-8 (Python keeps them as lone surrogates), or None."""
    for name, value in vars(args).items():
        for text in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(text, str) and any("\udc80" <= c <= "\udcff" for c in text):
                return name
    return None
