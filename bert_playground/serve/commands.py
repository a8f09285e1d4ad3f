"""The playground's own commands over HTTP: `POST /v1/<command>` answers exactly what `<command> ... --json` prints,
computed by the command's own `run_<command>` (the `COMMANDS` table of `cli/__init__.py`).

The body is a JSON object that names the command's arguments by their argparse names (`{"text": "...",
"top_k": 5}`), or gives the words of a command line (`{"argv": ["...", "--top-k", "5"]}`: what `--server` sends),
read by the command's own parser; named values win over argv. `"json": false` asks for the fuller result the
CLI formats as text. The model is always the server's (`model` may only name it). Refused: options that read a
file or pick a device on the server, `-` (standard input), and the commands that train or read files (pretrain,
finetune, probe, importance, vocab). Notices come back in the X-Notices header (a JSON list), not in the body.
"""
from __future__ import annotations

import argparse
import math

from ..core.errors import PlaygroundError, shown
from .limits import Limits, RequestError, check_text

PRETRAINED = ("represent", "tokenize", "mask", "fill", "sides", "nsp", "attention", "attribute", "neuron", "context",
              "neighbours", "ablate", "patch", "lens")  # a pre-trained checkpoint's commands
FINETUNED = ("classify", "predict")  # a fine-tuned folder's
HTTP_COMMANDS = PRETRAINED + FINETUNED  # the rest (pretrain, finetune, probe, importance, vocab) train or read files
SERVER_OPTIONS = {"corpus": "--corpus", "input": "--input", "context_file": "--context-file", "device": "--device"}
STDIN = "-"


class _RequestParser(argparse.ArgumentParser):
    """The CLI's parser for a request: its errors are refusals (422), never an exit or a usage dump."""

    def error(self, message):
        raise RequestError(422, message)

    def exit(self, status=0, message=None):
        raise RequestError(422, message or "the arguments could not be read")

    def print_help(self, file=None):
        raise RequestError(422, "--help is for the command line; GET /openapi.json describes the arguments.")


def build_parsers() -> dict[str, argparse.ArgumentParser]:
    """{command: its parser} for the HTTP commands, built by the commands' own `add_*`; a request always has the
    server's model, so --model is never required here."""
    from ..cli import COMMANDS

    parser = _RequestParser(prog="bert-playground", add_help=False)
    sub = parser.add_subparsers(dest="command", parser_class=_RequestParser)
    for name in HTTP_COMMANDS:
        COMMANDS[name].add(sub)
    for choice in sub._choices_actions:  # the command's one-line help, for the OpenAPI description
        sub.choices[choice.dest].description = choice.help
    for p in sub.choices.values():
        for action in p._actions:
            if action.dest == "model":
                action.required = False
    return {name: sub.choices[name] for name in HTTP_COMMANDS}


def arguments(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The command's arguments by argparse name (help excluded)."""
    return {a.dest: a for a in parser._actions if a.dest != "help"}


def namespace(command: str, parser: argparse.ArgumentParser, body, limits: Limits, served) -> argparse.Namespace:
    """The command's arguments from a request body (see the module's docstring), checked and capped, with the
    served model (`model.Served`)."""
    if not isinstance(body, dict):
        raise RequestError(400, "The body must be a JSON object of the command's arguments, e.g. {\"text\": \"...\"}.")
    actions = arguments(parser)
    args = _from_argv(parser, body["argv"]) if "argv" in body else argparse.Namespace(
        **{dest: a.default for dest, a in actions.items()})
    for key, value in body.items():
        if key == "argv":
            continue
        if key not in actions:
            raise RequestError(422, f"'{command}' has no argument {shown(key)}; it takes: {', '.join(actions)}.")
        setattr(args, key, _value(actions[key], key, value))
    args.json = body.get("json", True)
    for dest, action in actions.items():
        _check_given(command, dest, action, getattr(args, dest), limits)
    _use_served(args, actions["model"], served)
    return args


def _use_served(args, action, served) -> None:
    """Every model the request names must be the served one; the command then reads the served model."""
    names = args.model if isinstance(args.model, list) else [args.model]
    for name in names:
        served.check_name(name)
    args.model = [served.arg] if isinstance(action, argparse._AppendAction) else served.arg


def _from_argv(parser, argv) -> argparse.Namespace:
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise RequestError(422, "'argv' must be a list of strings (the words of a command line).")
    if any(a in ("-h", "--help") for a in argv):
        raise RequestError(422, "--help is for the command line; GET /openapi.json describes the arguments.")
    return parser.parse_args(argv)


def _value(action: argparse.Action, key: str, value):
    """A named value of the right JSON type for its argument: a string, a whole number, a number, true/false, or a
    list of strings; and one of the choices where there are some."""
    if action.nargs == 0:  # a flag (store_true)
        if not isinstance(value, bool):
            raise RequestError(422, f"'{key}' must be true or false.")
        return value
    many = action.nargs in ("*", "+") or isinstance(action, argparse._AppendAction)
    items = value if many and isinstance(value, list) else [value]
    if many and not isinstance(value, list):
        raise RequestError(422, f"'{key}' must be a list.")
    checked = [_scalar(action, key, v) for v in items]
    return checked if many else checked[0]


def _scalar(action, key, value):
    if value is None and action.default is None and action.option_strings:
        return None
    want = action.type if action.type in (int, float) else str
    ok = (isinstance(value, str) if want is str else
          isinstance(value, int) and not isinstance(value, bool) if want is int else
          isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))
    if not ok:
        raise RequestError(422, f"'{key}' must be {({str: 'a string', int: 'a whole number'}).get(want, 'a number')}.")
    if want is str and action.type not in (None, str):  # the argument's own reader, as argparse would call it
        try:
            value = action.type(value)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
            raise RequestError(422, f"'{key}': {exc}") from None
    if action.choices is not None and value not in action.choices:
        raise RequestError(422, f"'{key}' must be one of: {', '.join(map(str, action.choices))}.")
    return float(value) if want is float else value


def _check_given(command, dest, action, value, limits: Limits) -> None:
    """Required arguments present; texts within the caps; no server file, no device, no standard input."""
    if dest in SERVER_OPTIONS and value is not None:
        raise RequestError(422, f"{SERVER_OPTIONS[dest]} reads a file or picks a device on the server: not over "
                                "HTTP.")
    if not action.option_strings and action.nargs in (None, "+") and value in (None, []):
        raise RequestError(422, f"'{command}' needs '{dest}'.")
    items = value if isinstance(value, list) else [value]
    if dest in ("top_k", "k") and isinstance(value, int) and value > limits.max_top_k:
        raise RequestError(413, f"'{dest}' is {value}; this server answers at most {limits.max_top_k}.")
    if len(items) > limits.max_items:
        raise RequestError(413, f"'{dest}' has {len(items)} items; this server takes at most {limits.max_items}.")
    for item in items:
        if isinstance(item, str) and any("\ud800" <= c <= "\udfff" for c in item):  # JSON's lone surrogates
            raise RequestError(422, f"'{dest}' is not valid Unicode text.")
        if isinstance(item, str) and dest != "model":
            if item == STDIN and not action.option_strings:
                raise RequestError(422, "'-' reads standard input: only on the command line (`fill -`, `nsp -`).")
            check_text(item, limits.text_cap(command, dest), dest)


def run(command: str, args: argparse.Namespace) -> tuple[dict, list[str]]:
    """(the command's result, its notices) from its own `run_*`; PlaygroundError becomes a 422. Runs in a worker."""
    from ..cli import COMMANDS
    from ..cli.common import collecting_notices

    try:
        with collecting_notices() as notices:
            return COMMANDS[command].run(args), notices
    except PlaygroundError as exc:
        raise RequestError(422, str(exc)) from None
