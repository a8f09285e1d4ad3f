"""`ablate`, `importance`, `patch`, `lens`: interventions on the model (the Interventions page). Layers and heads count
from 0, as the `attention` command's JSON arrays index them."""
from __future__ import annotations

from ..core.errors import PlaygroundError
from .common import json_arg, load_model, model_arg, print_notices


def add_ablate(sub):
    from ..interpret.interventions import MODES

    p = sub.add_parser("ablate", help="switch attention heads off and compare the prediction before and after")
    p.add_argument("text", help="a text with [MASK] (its guesses are compared), or sentence A with TEXT_B")
    p.add_argument("text_b", nargs="?", default=None, help="sentence B: the NSP decision is compared")
    p.add_argument("--heads", required=True, help="heads to switch off, LAYER.HEAD from 0, comma-separated: 3.7,5.0")
    p.add_argument("--mode", dest="ablation_mode", choices=MODES, default=MODES[0],
                   help="zero, or the head's mean over a reference corpus")
    model_arg(p)
    json_arg(p)


def run_ablate(args):
    from ..interpret.interventions import ablate

    res = ablate(load_model(args), args.text, args.text_b, args.heads, args.ablation_mode)
    print_notices(getattr(res.before, "notices", ()))
    return res.to_dict()


def text_ablate(res):
    lines = [f"heads off ({res['mode']}): " + ", ".join(f"{l}.{h}" for l, h in res["heads"])]
    for when in ("before", "after"):
        r = res[when]
        if "masks" in r:
            m = r["masks"][0]
            lines.append(f"{when:<7} " + ", ".join(f"{p['token']} {p['probability']:.3f}" for p in m["predictions"]))
        else:
            key = "in_order_probability" if "in_order_probability" in r else "is_next_probability"
            lines.append(f"{when:<7} {key} = {r[key]:.4f}")
    return "\n".join(lines)


def add_importance(sub):
    p = sub.add_parser("importance", help="every head's importance (Michel et al. 2019) and the pruning curve")
    p.add_argument("--corpus", default=None, help="a text file, one sentence a line (default: the sentences of the "
                                                  "shipped NSP demo corpus, never trained on)")
    p.add_argument("--sentences", type=int, default=100, help="sentences used (default 100)")
    p.add_argument("--steps", type=int, default=8, help="points of the pruning curve (default 8)")
    model_arg(p)
    json_arg(p)


def run_importance(args):
    from ..interpret.importance import Importance, importance

    if not 2 <= args.sentences <= 500:
        raise PlaygroundError("--sentences must be between 2 and 500.")
    if not 1 <= args.steps <= 48:
        raise PlaygroundError("--steps must be between 1 and 48.")
    sentences = _sentences(args.corpus)[: args.sentences]
    result = None
    for ev in importance(load_model(args), sentences, args.steps):
        result = ev if isinstance(ev, Importance) else result
    return result.to_dict()


def _sentences(path: str | None) -> list[str]:
    from .. import datasets
    from ..interpret.importance import reference_sentences

    if path is None:
        return reference_sentences()
    raw, name = datasets.read_bytes(path)
    try:
        return [line.strip() for line in raw.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise PlaygroundError(f"'{name}' is not UTF-8 text.") from None


def text_importance(res):
    import numpy as np

    scores = np.array(res["scores"])
    top = np.argsort(-scores, axis=None)[:5]
    lines = ["most important heads: " + ", ".join(f"{i // scores.shape[1]}.{i % scores.shape[1]}" for i in top)]
    lines += [f"pruned {r['pruned']:>3} ({r['order']}{' ' + str(r['seed']) if 'seed' in r else ''}): "
              f"MLM accuracy {r['mlm_accuracy']:.3f}" for r in res["pruning"]]
    return "\n".join(lines)


def add_patch(sub):
    p = sub.add_parser("patch", help="activation patching: a clean run's states put into a corrupted run")
    p.add_argument("clean", help="e.g. 'The capital of France is [MASK].'")
    p.add_argument("corrupted", help="the same number of tokens, e.g. 'The capital of Italy is [MASK].'")
    p.add_argument("--answer", default=None, help="the token whose probability is read (default: the clean top-1)")
    model_arg(p)
    json_arg(p)


def run_patch(args):
    from ..interpret.interventions import patch

    return patch(load_model(args), args.clean, args.corrupted, args.answer).to_dict()


def text_patch(res):
    lines = [f"P({res['answer']}): clean {res['clean_probability']:.4f}, corrupted {res['corrupted_probability']:.4f}",
             "row 0 = embeddings, row k = output of layer k-1; columns: " + " ".join(res["tokens"])]
    lines += [f"{k:>3}  " + " ".join(f"{v:.2f}" for v in row) for k, row in enumerate(res["grid"])]
    return "\n".join(lines)


def add_lens(sub):
    p = sub.add_parser("lens", help="the logit lens: every layer's state at each mask read through the MLM head")
    p.add_argument("text")
    p.add_argument("--top-k", type=int, default=5)
    model_arg(p)
    json_arg(p)


def run_lens(args):
    from ..interpret.interventions import logit_lens

    if not 1 <= args.top_k <= 50:
        raise PlaygroundError("--top-k must be between 1 and 50.")
    return logit_lens(load_model(args), args.text, args.top_k).to_dict()


def text_lens(res):
    lines = []
    for m in res["masks"]:
        lines.append(f"mask at {m['position']}:")
        lines += [f"  layer {r['layer']:>2}  rank of the answer {r['answer_rank']:>5}  "
                  + ", ".join(f"{t} {p:.3f}" for t, p in r["top"]) for r in m["layers"]]
    return "\n".join(lines)
