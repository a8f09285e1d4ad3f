"""`mask`, `fill` (with `--joint`, `--candidates`), `sides`, `nsp`: the Masked-LM and NSP pages. `fill -` and
`nsp -` read many queries from standard input (`batch.py`)."""
from __future__ import annotations

import argparse

from .batch import STDIN, each_line
from .common import (config_defaults, holding_models, json_arg, load_model, load_named, load_tokenizer, model_arg,
                     print_notices)

# ---- mask / fill (Masked-LM page) ---------------------------------------------------------


def add_mask(sub):
    from ..objectives.masking import MaskingConfig

    d = config_defaults(MaskingConfig)
    p = sub.add_parser("mask", help="BERT's 80/10/10 masking of a text (model-free: only the tokenizer is read)")
    p.add_argument("text")
    p.add_argument("--rate", type=float, default=d["rate"], help=f"share of tokens chosen (0 to 1, default {d['rate']})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--whole-word", action="store_true", help="choose all pieces of a word together")
    model_arg(p)
    json_arg(p)


def run_mask(args):
    from ..objectives.masking import MaskingConfig, mask_text

    masked = mask_text(load_tokenizer(args), args.text, MaskingConfig(rate=args.rate, whole_word=args.whole_word),
                       seed=args.seed)
    print_notices(masked.notices)
    return masked.to_dict()


def text_mask(res):
    lines = [f"{'pos':>4}  {'original':<16} {'input':<16} {'label':<16} action"]
    lines += [f"{r['position']:>4}  {r['original']:<16} {r['input']:<16} {r['label'] or '-':<16} {r['action'] or '-'}"
              for r in res["tokens"]]
    return "\n".join(lines)


def add_fill(sub):
    p = sub.add_parser("fill", help="the MLM head's top-k guesses at every [MASK] of a text (several --model: side by side)")
    p.add_argument("text", help="the text, with [MASK] where the model should guess; '-': one text per line of "
                                "standard input, one JSON line out each")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--model", action="append", default=None,
                   help="'embedded' (default, or $BERT_PLAYGROUND_MODEL), a local folder, or a Hub id; "
                        "repeat it to compare checkpoints on the same text")
    from ..objectives.decoding import ORDERS

    p.add_argument("--joint", action="store_true", help="also fill the masks jointly, one at a time (adds 'joint')")
    p.add_argument("--order", choices=ORDERS, default=ORDERS[0],
                   help="joint decoding order: most-confident-first (default) or left to right")
    p.add_argument("--candidates", default=None, metavar="W1,W2",
                   help="score these words at the first mask by pseudo-log-likelihood (adds 'candidates')")
    json_arg(p)


def run_fill(args):
    from ..objectives.mlm import fill

    if args.text == STDIN:
        return from_stdin("fill", args, run_fill)
    names = args.model or [None]
    results = []
    for name in names:
        bundle = load_named(name)
        res = fill(bundle, args.text, args.top_k)
        print_notices(res.notices)
        out = res.to_dict()  # exactly the documented fields with --json
        fill_extras(args, out, bundle)
        results.append(out if args.json else {**out, "filled": res.filled})
    return results[0] if len(results) == 1 else {"models": results}


def text_fill(res):
    lines = []
    for one in res.get("models", [res]):
        lines += [f"model: {one['model']}", f"filled: {one['filled']}"]
        for m in one["masks"]:
            guesses = ", ".join(f"{p['token']} {p['probability']:.3f}" for p in m["predictions"])
            lines.append(f"mask at {m['position']}: {guesses}")
        lines += text_fill_extras(one)
    return "\n".join(lines)


def fill_extras(args, out, bundle):
    """`fill --joint` adds 'joint', `fill --candidates` adds 'candidates'; plain `fill` is unchanged."""
    if not (args.joint or args.candidates is not None):
        return
    from ..objectives.decoding import joint_fill, score_candidates

    if args.joint:
        out["joint"] = joint_fill(bundle, args.text, args.order).to_dict()
    if args.candidates is not None:
        out["candidates"] = [c.to_dict() for c in score_candidates(bundle, args.text, args.candidates)]


def text_fill_extras(res):
    lines = []
    if "joint" in res:
        j = res["joint"]
        lines.append(f"joint: {j['filled']}  (filled in the order of positions {', '.join(map(str, j['order']))})")
    for c in res.get("candidates", []):
        lines.append(f"candidate {c['word']:<16} PLL {c['pll']:8.3f}  pieces: {' '.join(c['pieces'])}")
    return lines


def add_sides(sub):
    p = sub.add_parser("sides", help="predictions at the first [MASK] with both sides, only the left, only the right")
    p.add_argument("text")
    p.add_argument("--top-k", type=int, default=5)
    model_arg(p)
    json_arg(p)


def run_sides(args):
    from ..objectives.decoding import sides

    return sides(load_model(args), args.text, args.top_k).to_dict()


def text_sides(res):
    lines = ["the other side is removed, not masked"]
    for side in ("both", "left", "right"):
        lines.append(f"{side:<6} " + ", ".join(f"{p['token']} {p['probability']:.3f}" for p in res[side]))
    return "\n".join(lines)

# ---- nsp (Next-sentence-prediction page) --------------------------------------------------


def add_nsp(sub):
    p = sub.add_parser("nsp", help="the pair head's probability for two sentences: BERT's NSP (IsNext), ALBERT's SOP (in order)")
    p.add_argument("sent_a", help="sentence A; '-': one tab-separated pair per line of standard input, one JSON line "
                                  "out each")
    p.add_argument("sent_b", nargs="?", default=None)
    model_arg(p)
    json_arg(p)


def run_nsp(args):
    from ..core.errors import PlaygroundError
    from ..objectives.nsp import score_text

    if args.sent_a == STDIN:
        return from_stdin("nsp", args, run_nsp)
    if args.sent_b is None:
        raise PlaygroundError("nsp needs two sentences: SENT_A SENT_B (or '-' to read tab-separated pairs from "
                              "standard input).")
    s = score_text(load_model(args), args.sent_a, args.sent_b)
    print_notices(s.packed.notices)
    return s.to_dict()  # ALBERT: sentence-order prediction (A then B in the original order?)


def text_nsp(res):
    if res.get("task") == "sop":
        p, what = res["in_order_probability"], ("P(in order)", "InOrder", "Swapped")
    else:
        p, what = res["is_next_probability"], ("P(IsNext)", "IsNext", "NotNext")
    return (f"model: {res['model']}\n{what[0]} = {p:.4f}  ->  {what[1] if p >= 0.5 else what[2]}\n"
            + " ".join(f"{t}/{s}" for t, s in zip(res["tokens"], res["segments"])))


def from_stdin(command, args, run):
    """`command -`: every line of standard input through `run`, with --json's output, the model loaded once."""
    with holding_models():
        each_line(command, lambda values: run(argparse.Namespace(**{**vars(args), **values, "json": True})))
