"""Evaluate a pre-trained checkpoint against the one it started from: is the new chunk better?

    python scripts/eval_checkpoint.py CKPT [--baseline CKPT0] [--json]
                                      [--held-out-corpus ../shared/data/wikipedia/enwiki-part4.txt.xz]

For each checkpoint:
(a) held-out MLM and NSP accuracy and loss on exactly the pre-training run's own held-out set (the first 200
    articles of part 4, 500 pairs, 15% masking 80/10/10, float32), built and scored by `pretrain`'s own functions;
(b) accuracy on the everyday pairs of assets/eval/everyday_pairs.tsv, scored as the NSP page scores typed pairs;
(c) the top-5 fill-mask guesses on assets/eval/cloze.tsv (the Masked LM page's `mlm.fill`), top-1 and top-5 hits.
Text output: a side-by-side table (baseline, new, change) and the cloze top-5 lines; `--json`: one JSON object.
The held-out part is skipped, with a message, when the corpus is missing.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

from bert_playground import load
from bert_playground.core import device  # the package's modules this script uses: one place
from bert_playground.objectives import mlm, nsp
from bert_playground.pretraining import pretrain

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "assets" / "eval"
PAIRS_FILE = EVAL_DIR / "everyday_pairs.tsv"
COHERENT_FILE = EVAL_DIR / "everyday_coherent.tsv"
CLOZE_FILE = EVAL_DIR / "cloze.tsv"
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-part4.txt.xz"
# The pre-training run's held-out set: `pretrain._setup` packs `epoch_pairs(eval_ids, seed=999, epoch=0)` and keeps
# the first `eval_pairs`; `pretrain.evaluate` masks them with its own fixed seed. The shipped runs used these sizes.
EVAL_DOCS, EVAL_PAIRS, EVAL_PAIR_SEED, MASK_RATE = 200, 500, 999, 0.15
NOT_NEXT_SHIFT = 13  # NotNext row i takes B from coherent pair (i + 13) mod n: 13 mod 8 topics = another topic
NSP_TOLERANCE = 0.01  # held-out NSP may drop this much (5 of 500 pairs, about one standard error) in a better chunk
TOP_K = 5


# ---- the evaluation sets --------------------------------------------------------------------------------------

def read_tsv(path: Path) -> list[dict]:
    """Rows of a tab-separated file with a header line."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def everyday_from_coherent(coherent: list[dict], shift: int = NOT_NEXT_SHIFT) -> list[dict]:
    """The everyday pairs from the coherent ones: the first half kept (IsNext); in the second half, row i gets the
    B of coherent pair (i + shift) mod n (NotNext)."""
    n = len(coherent)
    out = []
    for i, row in enumerate(coherent):
        is_next = i < n // 2
        b = row["sentence_b"] if is_next else coherent[(i + shift) % n]["sentence_b"]
        out.append({"sentence_a": row["sentence_a"], "sentence_b": b, "is_next": "1" if is_next else "0"})
    return out


def write_everyday_pairs(path: Path = PAIRS_FILE, coherent_file: Path = COHERENT_FILE) -> None:
    """(Re)write everyday_pairs.tsv from everyday_coherent.tsv."""
    rows = everyday_from_coherent(read_tsv(coherent_file))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["sentence_a", "sentence_b", "is_next"], delimiter="\t",
                           quoting=csv.QUOTE_NONE, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def read_pairs(path: Path = PAIRS_FILE) -> list[tuple[str, str, bool]]:
    """(sentence A, sentence B, is_next) per row."""
    return [(r["sentence_a"], r["sentence_b"], r["is_next"] == "1") for r in read_tsv(path)]


def read_cloze(path: Path = CLOZE_FILE) -> list[tuple[str, tuple[str, ...]]]:
    """(text with one [MASK], acceptable answers) per row."""
    return [(r["text"], tuple(r["answers"].split("|"))) for r in read_tsv(path)]


# ---- (a) the pre-training run's held-out set ------------------------------------------------------------------

def held_out_set(tokenizer, corpus: str, docs: int = EVAL_DOCS, pairs: int = EVAL_PAIRS):
    """The packed held-out pairs a pre-training run with `--eval-corpus corpus --eval-docs docs --eval-pairs pairs`
    evaluates on: its documents from `pretrain.load_corpus` (the training side, one document of the same file, is
    dropped), packed as `pretrain._setup` packs them."""
    cfg = pretrain.PretrainConfig(corpus=corpus, out="", eval_corpus=corpus, eval_docs=docs, eval_pairs=pairs,
                                  max_docs=1)
    _, eval_ids = pretrain.load_corpus(cfg, tokenizer)
    packed = pretrain.epoch_pairs(eval_ids, tokenizer, cfg.seq_len, seed=EVAL_PAIR_SEED, epoch=0)
    return pretrain.PackedPairs(*(t[:pairs] for t in (packed.input_ids, packed.token_type_ids,
                                                      packed.attention_mask, packed.next_label)))


def held_out(bundle, packed) -> dict:
    """`pretrain.evaluate` on the held-out pairs: MLM and NSP accuracy and loss, the run's fixed masking draw."""
    return pretrain.evaluate(bundle.model, bundle.tokenizer, packed, bundle.device, MASK_RATE)


# ---- (b) everyday pairs ---------------------------------------------------------------------------------------

def pair_accuracy(probabilities: list[float], labels: list[bool]) -> dict:
    """Accuracy overall, on IsNext pairs and on NotNext pairs (IsNext predicted when P(IsNext) >= 0.5)."""
    right = [(p >= 0.5) == truth for p, truth in zip(probabilities, labels)]

    def share(keep) -> float | None:
        sel = [r for r, truth in zip(right, labels) if keep(truth)]
        return sum(sel) / len(sel) if sel else None

    return {"accuracy": share(lambda t: True), "is_next_accuracy": share(lambda t: t),
            "not_next_accuracy": share(lambda t: not t), "n": len(labels)}


def everyday(bundle, pairs: list[tuple[str, str, bool]]) -> dict:
    """Each pair scored as the NSP page scores typed sentences (`nsp.score_text`), and the accuracies."""
    probs = [nsp.score_text(bundle, a, b).is_next_probability for a, b, _ in pairs]
    rows = [{"sentence_a": a, "sentence_b": b, "is_next": t, "p_is_next": p} for (a, b, t), p in zip(pairs, probs)]
    return {**pair_accuracy(probs, [t for _, _, t in pairs]), "pairs": rows}


# ---- (c) cloze ------------------------------------------------------------------------------------------------

def hit_rank(top: list[tuple[str, float]], answers: tuple[str, ...]) -> int | None:
    """Where the first acceptable answer is among the guesses (0 = top-1), or None."""
    return next((i for i, (token, _) in enumerate(top) if token in answers), None)


def cloze(bundle, rows: list[tuple[str, tuple[str, ...]]], k: int = TOP_K) -> dict:
    """Top-k guesses per sentence with the Masked LM page's `mlm.fill`, and the top-1 / top-k hit counts."""
    out = []
    for text, answers in rows:
        fill = mlm.fill(bundle, text, top_k=k)
        top = [(p.token, p.probability) for p in fill.masks[0].predictions]
        out.append({"text": text, "answers": list(answers), "top": top, "rank": hit_rank(top, answers)})
    return {"top1": sum(r["rank"] == 0 for r in out), f"top{k}": sum(r["rank"] is not None for r in out),
            "n": len(out), "rows": out}


# ---- one checkpoint, two checkpoints --------------------------------------------------------------------------

def weights_sha256(folder: str | Path) -> str | None:
    """The checkpoint's model.safetensors digest (which weights were evaluated), None if there is none."""
    f = Path(folder) / "model.safetensors"
    return hashlib.sha256(f.read_bytes()).hexdigest() if f.is_file() else None


def evaluate_checkpoint(bundle, path: str, pairs, cloze_rows, packed=None) -> dict:
    """All figures for one loaded checkpoint; `packed`: the held-out pairs (None: no held-out figures)."""
    return {"path": str(path), "weights_sha256": weights_sha256(path),
            "held_out": held_out(bundle, packed) if packed is not None else None,
            "everyday": everyday(bundle, pairs), "cloze": cloze(bundle, cloze_rows)}


METRICS = (  # (name, how to read it from a checkpoint's figures, higher is better)
    ("held-out MLM accuracy", lambda r: (r["held_out"] or {}).get("mlm_accuracy"), True),
    ("held-out MLM loss", lambda r: (r["held_out"] or {}).get("mlm_loss"), False),
    ("held-out NSP accuracy", lambda r: (r["held_out"] or {}).get("nsp_accuracy"), True),
    ("held-out NSP loss", lambda r: (r["held_out"] or {}).get("nsp_loss"), False),
    ("everyday pairs accuracy", lambda r: r["everyday"]["accuracy"], True),
    ("  on IsNext pairs", lambda r: r["everyday"]["is_next_accuracy"], True),
    ("  on NotNext pairs", lambda r: r["everyday"]["not_next_accuracy"], True),
    ("cloze top-1 hits", lambda r: r["cloze"]["top1"], True),
    (f"cloze top-{TOP_K} hits", lambda r: r["cloze"][f"top{TOP_K}"], True),
)


def compare(new: dict, base: dict) -> dict:
    """Changes per figure and the verdict, issue 33's rule for shipping a chunk: better when held-out MLM accuracy
    rose, held-out NSP accuracy fell by at most NSP_TOLERANCE and accuracy on the everyday pairs did not fall (None
    without held-out figures). The cloze list is reported, not voted."""
    deltas = {}
    for name, get, _ in METRICS:
        a, b = get(base), get(new)
        deltas[name.strip()] = None if a is None or b is None else b - a
    mlm, nsp = deltas["held-out MLM accuracy"], deltas["held-out NSP accuracy"]
    everyday_delta = deltas["everyday pairs accuracy"]
    better = None if mlm is None or nsp is None else bool(mlm > 0 and nsp >= -NSP_TOLERANCE
                                                           and everyday_delta >= -1e-12)
    return {"deltas": deltas, "better": better,
            "rule": f"held-out MLM accuracy up, held-out NSP accuracy down by at most {NSP_TOLERANCE} and everyday pairs "
                    "accuracy up or equal"}


def run(ckpt: str, baseline: str | None = None, corpus: str | None = str(DEFAULT_CORPUS),
        device_name: str | None = None, pairs_file: Path = PAIRS_FILE, cloze_file: Path = CLOZE_FILE) -> dict:
    """The whole report: the new checkpoint, the baseline (if any), the held-out set used and the comparison."""
    pairs, cloze_rows = read_pairs(pairs_file), read_cloze(cloze_file)
    dev = device.choose_device(device_name)  # also sets the CPU threads (BERT_PLAYGROUND_THREADS)
    report = {"held_out_set": None, "held_out_skipped": None, "checkpoints": {}}
    if not corpus or not Path(corpus).is_file():
        report["held_out_skipped"] = f"held-out corpus not found ({corpus}): held-out figures skipped"
    packed, vocab = None, None
    for role, path in (("baseline", baseline), ("new", ckpt)):
        if path is None:
            continue
        bundle = load(str(path), dev)
        if report["held_out_skipped"] is None and bundle.tokenizer.get_vocab() != vocab:
            packed, vocab = held_out_set(bundle.tokenizer, str(corpus)), bundle.tokenizer.get_vocab()
            report["held_out_set"] = {"corpus": str(corpus), "docs": EVAL_DOCS, "pairs": len(packed.next_label),
                                      "pair_seed": EVAL_PAIR_SEED, "mask_rate": MASK_RATE}
        report["checkpoints"][role] = evaluate_checkpoint(bundle, path, pairs, cloze_rows, packed)
        del bundle
    if baseline is not None:
        report["comparison"] = compare(report["checkpoints"]["new"], report["checkpoints"]["baseline"])
    return report


# ---- output ---------------------------------------------------------------------------------------------------

def _cell(value, n: int | None = None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value}/{n}" if n else str(value)
    return f"{value:.3f}"


def table(report: dict) -> list[str]:
    """The side-by-side figures: one line per metric, a column per checkpoint, then the change."""
    cps = report["checkpoints"]
    roles = [r for r in ("baseline", "new") if r in cps]
    lines = [f"{'':26}" + "".join(f"{r:>12}" for r in roles) + (f"{'change':>12}" if len(roles) == 2 else "")]
    for name, get, _ in METRICS:
        n = cps["new"]["cloze"]["n"] if name.startswith("cloze") else None
        cells = [_cell(get(cps[r]), n) for r in roles]
        if len(roles) == 2:
            d = report["comparison"]["deltas"][name.strip()]
            cells.append("-" if d is None else f"{d:+.3f}" if isinstance(d, float) else f"{d:+d}")
        lines.append(f"{name:26}" + "".join(f"{c:>12}" for c in cells))
    return lines


def cloze_lines(report: dict) -> list[str]:
    """Per cloze sentence: hit mark, text and answers, then each checkpoint's top-5 with probabilities."""
    cps = report["checkpoints"]
    roles = [r for r in ("new", "baseline") if r in cps]
    lines = []
    for i, row in enumerate(cps["new"]["cloze"]["rows"]):
        lines.append(f"{row['text']}  [{'|'.join(row['answers'])}]")
        for r in roles:
            got = cps[r]["cloze"]["rows"][i]
            mark = "-" if got["rank"] is None else str(got["rank"] + 1)
            lines.append(f"  {r:>8} hit@{mark}: " + ", ".join(f"{t} {p:.2f}" for t, p in got["top"]))
    return lines


def format_text(report: dict) -> str:
    """The report as text: held-out set, side-by-side table, verdict, cloze top-5 lines."""
    out = []
    hs = report["held_out_set"]
    out.append(report["held_out_skipped"] or f"held-out set: {hs['pairs']} pairs from the first {hs['docs']} "
               f"articles of {hs['corpus']}, {hs['mask_rate']:.0%} masking 80/10/10, float32")
    for role, cp in report["checkpoints"].items():
        out.append(f"{role}: {cp['path']}")
    out += [""] + table(report)
    if "comparison" in report:
        c = report["comparison"]
        verdict = {True: "BETTER", False: "NOT better", None: "undecided (no held-out figures)"}[c["better"]]
        out.append(f"\nverdict: {verdict} (rule: {c['rule']})")
    out += ["", f"cloze top-{TOP_K} (hit@rank of the first acceptable answer):"] + cloze_lines(report)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", help="the checkpoint to evaluate (a folder)")
    ap.add_argument("--baseline", help="the checkpoint it started from, evaluated side by side")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--held-out-corpus", default=str(DEFAULT_CORPUS),
                    help="the run's --eval-corpus (default: ../shared/data/wikipedia/enwiki-part4.txt.xz)")
    ap.add_argument("--device", help="cpu | cuda | mps (default: as the app chooses)")
    args = ap.parse_args(argv)
    report = run(args.checkpoint, args.baseline, args.held_out_corpus, args.device)
    if report["held_out_skipped"]:
        print(report["held_out_skipped"], file=sys.stderr)
    print(json.dumps(report, indent=1) if args.json else format_text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
