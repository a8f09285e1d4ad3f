"""`python -m bert_playground <command> ... [--model M] [--json]`.

Each command is a pair: `_add_<name>(sub)` declares its arguments, `_run_<name>(args)` returns
a JSON-able dict (printed as JSON with --json, as a short text otherwise). Errors become one
line on stderr and a non-zero exit: 2 for bad input, 1 for anything unexpected.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .errors import PlaygroundError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _model_arg(p, required=False):
    p.add_argument("--model", default=None, required=required,
                   help="'embedded' (default, or $BERT_PLAYGROUND_MODEL), a local folder, or a Hub id")


def _json_arg(p):
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _load(args):
    from .models import load

    return load(args.model)


# ---- represent ----------------------------------------------------------------------------

def _add_represent(sub):
    p = sub.add_parser("represent", help="WordPiece tokens, token ids, segments and positions of a text or pair")
    p.add_argument("sent_a")
    p.add_argument("sent_b", nargs="?", default=None)
    _model_arg(p)
    _json_arg(p)


def _run_represent(args):
    from .representation import represent

    rep = represent(_load(args), args.sent_a, args.sent_b)
    out = {"model": rep.model, "rows": rep.rows()}
    if rep.encoding.truncated:
        out["truncated_from"] = rep.encoding.full_length
    return out


def _text_represent(res):
    lines = [f"model: {res['model']}", f"{'index':>5}  {'token':<18} {'id':>6}  seg  pos"]
    lines += [f"{r['index']:>5}  {r['token']:<18} {r['token_id']:>6}  {r['segment']:>3}  {r['position']:>3}" for r in res["rows"]]
    return "\n".join(lines)


# ---- pretrain -----------------------------------------------------------------------------

def _add_pretrain(sub):
    p = sub.add_parser("pretrain", help="pre-train BertForPreTraining on MLM + NSP from WikiExtractor text")
    p.add_argument("--corpus", required=True, help="glob(s), comma-separated, of WikiExtractor files (.xz allowed)")
    p.add_argument("--out", required=True, help="output checkpoint folder (resumed from if it holds one and --resume)")
    p.add_argument("--init", default="minilm", help="minilm | scratch | PATH of a checkpoint folder")
    p.add_argument("--config", default="minilm", help="for --init scratch: tiny | mini | minilm | a config.json path")
    p.add_argument("--eval-corpus", default=None, help="held-out glob; default: the corpus's last --eval-docs documents")
    p.add_argument("--eval-docs", type=int, default=200)
    p.add_argument("--eval-pairs", type=int, default=1000)
    p.add_argument("--max-seconds", type=float, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--max-docs", type=int, default=None, help="use only the first N training documents")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--train-layers", type=int, default=None, help="train only the top K encoder layers + heads")
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-dtype", choices=["float16", "float32"], default="float16")
    p.add_argument("--device", default=None, help="auto | cpu | cuda")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    _json_arg(p)


def _run_pretrain(args):
    from .pretrain import PretrainConfig, pretrain

    if args.batch_size < 1 or args.seq_len < 8 or args.seq_len > 512 or args.lr <= 0:
        raise PlaygroundError("--batch-size must be >= 1, --seq-len between 8 and 512, --lr > 0.")
    cfg = PretrainConfig(
        corpus=args.corpus, out=args.out, init=args.init, preset=args.config, eval_corpus=args.eval_corpus,
        eval_docs=args.eval_docs, eval_pairs=args.eval_pairs, seq_len=args.seq_len, batch_size=args.batch_size,
        lr=args.lr, warmup_steps=args.warmup_steps, max_steps=args.max_steps, max_seconds=args.max_seconds,
        train_layers=args.train_layers, seed=args.seed, log_every=args.log_every, eval_every=args.eval_every,
        save_dtype=args.save_dtype, max_docs=args.max_docs, device=args.device,
    )
    return pretrain(cfg, resume=args.resume)


# ---- main ---------------------------------------------------------------------------------

COMMANDS = ["represent", "pretrain"]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bert_playground", description="Look inside BERT from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        globals()[f"_add_{name}"](sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        result = globals()[f"_run_{args.command}"](args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for a user
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        fmt = globals().get(f"_text_{args.command}")
        print(fmt(result) if fmt else json.dumps(result, indent=1, ensure_ascii=False))
    return 0
