"""`python -m bert_playground <command> ... [--model M] [--json]`.

The table `COMMANDS` names every command's three functions, which live in this package's modules by the
part of BERT's story they belong to (`inputs`, `objectives`, `pretraining`, `interpret`, `interventions`,
`finetune`):
`add_<name>(sub)` declares its arguments, `run_<name>(args)` returns a JSON-able dict, `text_<name>(result)`
prints it for a reader (None: indented JSON); --json prints the dict as JSON. Defaults and
choices come from the package (config dataclasses, `pretrain.PRECISIONS`, `pretrain.SAVE_DTYPES`,
`finetune.MODES`). Results carry their `notices`; the CLI prints them on stderr as `note: ...`.
Errors become one line on stderr and a non-zero exit: 2 for bad input, 1 for anything unexpected.
`--server URL` (or $BERT_PLAYGROUND_SERVER) sends a command to a running `serve` (`client.py`, without torch).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, NamedTuple

from ..core.errors import PlaygroundError
from . import client, finetune, inputs, interpret, interventions, objectives, pretraining, serve
from .common import Parser, not_utf8


class Command(NamedTuple):
    add: Callable  # (subparsers) -> None: declares the arguments
    run: Callable  # (args) -> dict: the JSON-able result
    text: Callable | None  # (result) -> str for a reader; None: indented JSON


COMMANDS = {
    "represent": Command(inputs.add_represent, inputs.run_represent, inputs.text_represent),
    "tokenize": Command(inputs.add_tokenize, inputs.run_tokenize, inputs.text_tokenize),
    "vocab": Command(inputs.add_vocab, inputs.run_vocab, inputs.text_vocab),
    "pretrain": Command(pretraining.add_pretrain, pretraining.run_pretrain, None),
    "mask": Command(objectives.add_mask, objectives.run_mask, objectives.text_mask),
    "fill": Command(objectives.add_fill, objectives.run_fill, objectives.text_fill),
    "nsp": Command(objectives.add_nsp, objectives.run_nsp, objectives.text_nsp),
    "attention": Command(interpret.add_attention, interpret.run_attention, interpret.text_attention),
    "finetune": Command(finetune.add_finetune, finetune.run_finetune, finetune.text_finetune),
    "classify": Command(finetune.add_classify, finetune.run_classify, finetune.text_classify),
    "context": Command(interpret.add_context, interpret.run_context, interpret.text_context),
    "neighbours": Command(interpret.add_neighbours, interpret.run_neighbours, interpret.text_neighbours),
    "probe": Command(interpret.add_probe, interpret.run_probe, interpret.text_probe),
    "attribute": Command(interpret.add_attribute, interpret.run_attribute, interpret.text_attribute),
    "neuron": Command(interpret.add_neuron, interpret.run_neuron, interpret.text_neuron),
    "sides": Command(objectives.add_sides, objectives.run_sides, objectives.text_sides),
    "predict": Command(finetune.add_predict, finetune.run_predict, finetune.text_predict),
    "ablate": Command(interventions.add_ablate, interventions.run_ablate, interventions.text_ablate),
    "importance": Command(interventions.add_importance, interventions.run_importance, interventions.text_importance),
    "patch": Command(interventions.add_patch, interventions.run_patch, interventions.text_patch),
    "lens": Command(interventions.add_lens, interventions.run_lens, interventions.text_lens),
    "serve": Command(serve.add_serve, serve.run_serve, None),
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m bert_playground", description="Look inside BERT from the command line.",
                    epilog="Add --server URL (or set BERT_PLAYGROUND_SERVER) to ask a running `serve` instead.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS.values():
        command.add(sub)
    return parser


def main(argv=None) -> int:
    status, argv = client.route(sys.argv[1:] if argv is None else list(argv))
    if status is not None:  # a server answered (the client path imports neither torch nor transformers)
        return status
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    bad = not_utf8(args)
    if bad is not None:
        print(f"error: the {bad.replace('_', ' ')} argument is not valid UTF-8 text", file=sys.stderr)
        return 2
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        command = COMMANDS[args.command]
        result = command.run(args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except RecursionError:  # the parsers limit nesting first; never a traceback if something still nests too deep
        print("error: the input nests too deeply to read", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback for a user
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    if result is None:  # a torchrun rank other than 0: rank 0 prints the result
        return 0
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(command.text(result) if command.text else json.dumps(result, indent=1, ensure_ascii=False))
    return 0
