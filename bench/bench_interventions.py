"""Interventions on a checkpoint (default: the embedded one): timings and the figures issue 29's note asks for.

Usage: python bench/bench_interventions.py [--model embedded] [--sentences 100] [--runs 5] [--json FILE]

Prints:
  - time for one ablation (two heads, zero and mean; median of runs, warm), a full patching grid at 16 tokens
    (hidden states, attention and feed-forward blocks), and importance + pruning curve on `--sentences` sentences;
  - the 5 most important heads (LAYER.HEAD from 0), the pruning curve (held-out MLM accuracy) pruning the least
    important heads first, against the mean of the random orders;
  - the France/Italy patching grid: P(clean answer) in the corrupted run with each hidden state patched in.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bert_playground.checkpoints.models import load  # noqa: E402
from bert_playground.interpret import importance, interventions  # noqa: E402

CLEAN, CORRUPTED = "The capital of France is [MASK].", "The capital of Italy is [MASK]."
CLEAN_16 = "The bridge over the river in the capital of France is called [MASK]."  # 16 tokens
CORRUPTED_16 = "The bridge over the river in the capital of Spain is called [MASK]."


def timed(fn, runs: int) -> tuple[float, object]:
    """Median wall seconds of `runs` calls after one warm-up, and the last result."""
    out = fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run_importance(bundle, n: int) -> tuple[float, importance.Importance]:
    t0 = time.perf_counter()
    result = None
    for ev in importance.importance(bundle, importance.reference_sentences()[:n]):
        result = ev
    return time.perf_counter() - t0, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--sentences", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    bundle = load(a.model, "cpu")
    tokens = len(bundle.tokenizer(CLEAN_16)["input_ids"])
    out = {"model": a.model, "patch_tokens": tokens}
    for mode in interventions.MODES:
        out[f"ablate_{mode}_s"] = timed(lambda m=mode: interventions.ablate(bundle, CLEAN, None, ["3.7", "5.0"], m),
                                        a.runs)[0]
    out["patch_16_s"] = timed(lambda: interventions.patch(bundle, CLEAN_16, CORRUPTED_16), max(1, a.runs // 2))[0]
    out["importance_s"], imp = run_importance(bundle, a.sentences)
    out["top5"] = [f"{layer}.{head}" for layer, head in imp.ranked()[:5]]
    out["top5_scores"] = [round(float(imp.scores[layer, head]), 4) for layer, head in imp.ranked()[:5]]
    curve: dict[int, dict] = {}
    for row in imp.pruning:
        curve.setdefault(row["pruned"], {}).setdefault(row["order"], []).append(row["mlm_accuracy"])
    out["pruning"] = [{"pruned": k, "importance": statistics.mean(v["importance"]),
                       "random_mean": statistics.mean(v["random"]), "random_min": min(v["random"]),
                       "random_max": max(v["random"])} for k, v in sorted(curve.items())]
    out["masked"], out["sentences"] = imp.masked, imp.sentences
    grid = interventions.patch(bundle, CLEAN, CORRUPTED)
    out["patch"] = {"answer": grid.answer, "tokens": list(grid.tokens), "grid": [[round(float(v), 3) for v in row]
                    for row in grid.grid], "clean": grid.clean_probability, "corrupted": grid.corrupted_probability}
    report(out, a.sentences)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


def report(out: dict, n: int) -> None:
    print(f"model {out['model']}, {os.cpu_count()} cores")
    print(f"ablation of 2 heads (fill-mask before and after): zero {out['ablate_zero_s'] * 1000:.0f} ms, "
          f"mean {out['ablate_mean_s'] * 1000:.0f} ms")
    print(f"patching, full grid at {out['patch_tokens']} tokens (states + attention + feed-forward): "
          f"{out['patch_16_s']:.2f} s")
    print(f"importance + pruning curve, {n} sentences ({out['masked']} masked tokens): {out['importance_s']:.1f} s")
    print("5 most important heads (LAYER.HEAD from 0): " + ", ".join(
        f"{h} ({s})" for h, s in zip(out["top5"], out["top5_scores"])))
    print("pruned  least-important-first  random (mean, min-max of 3 seeds)")
    for r in out["pruning"]:
        print(f"{r['pruned']:>6}  {r['importance']:.3f}                  {r['random_mean']:.3f} "
              f"({r['random_min']:.3f}-{r['random_max']:.3f})")
    p = out["patch"]
    print(f"patching France -> Italy, P({p['answer']}): clean {p['clean']:.3f}, corrupted {p['corrupted']:.3f}")
    print("row        " + " ".join(f"{t:>8}" for t in p["tokens"]))
    for i, row in enumerate(p["grid"]):
        print(f"{'embeddings' if i == 0 else f'layer {i}':<10} " + " ".join(f"{v:>8.3f}" for v in row))


if __name__ == "__main__":
    main()
