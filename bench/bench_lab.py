"""The Pre-training lab's figures (issue 28's note), with the lab's own runs, summaries and verdicts.

Usage: python bench/bench_lab.py [--seconds 120] [--seeds 3] [--only speed|compare] [--json FILE]

  1. tokens/s of the `tiny` and `mini` presets (one default run each: recipe defaults, seed 0), and after the
     default time limit the held-out MLM accuracy against the unigram baseline on the same positions;
  2. three recipe comparisons, each recipe with `--seeds` seeds (the page's "repeat with 3 seeds"): mask rate 15%
     vs 40%; NSP vs no pair task; static masking (masks drawn once, N=1) vs dynamic on 5% of the corpus (many
     epochs); each recipe's mean and spread, and the page's verdict (`lab.verdict`).
Runs one after another on this machine's CPU; a run takes its time limit (about 2 minutes by default).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import threading
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bert_playground.pretraining import lab  # noqa: E402

COMPARISONS = [  # (what, recipe A's changes, recipe B's changes)
    ("mask rate 15% vs 40%", {"mask_rate": 0.15}, {"mask_rate": 0.40}),
    ("NSP vs no pair task", {"pair_task": "nsp"}, {"pair_task": "none"}),
    ("dynamic vs static masking, 5% of the corpus", {"corpus_share": 0.05}, {"corpus_share": 0.05, "static_masking": 1}),
]


def train(recipe: lab.Recipe) -> dict:
    """One lab run to its time limit; its pretrain result (as the page receives it)."""
    result = None
    for ev in lab.run(recipe, threading.Event()):
        if ev.get("event") == "done":
            result = ev["result"]
    return result


def label(changes: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in changes.items())


def speed(seconds: float) -> list[dict]:
    rows = []
    for preset in lab.LAB_PRESETS:
        r = train(lab.Recipe(preset=preset, seconds=seconds))
        rows.append({"preset": preset, "tokens_per_s": r.get("train_tokens_per_s", r["tokens_per_s"]),
                     "tokens": r["tokens_seen"], "steps": r["steps"], "mlm": r["eval_mlm_accuracy"],
                     "unigram": r["unigram_baseline_accuracy"], "pair": r.get("eval_nsp_accuracy")})
        print(f"{preset}: {rows[-1]['tokens_per_s']:,.0f} tokens/s ({r['steps']} steps, {r['tokens_seen']:,} tokens "
              f"in {seconds:.0f} s); held-out MLM {r['eval_mlm_accuracy']:.3f} vs unigram baseline "
              f"{r['unigram_baseline_accuracy']:.3f}; pair task {r.get('eval_nsp_accuracy')}", flush=True)
    return rows


def compare(seconds: float, seeds: int) -> list[dict]:
    out = []
    for what, a, b in COMPARISONS:
        sums = []
        for changes in (a, b):
            results = [train(dataclasses.replace(lab.Recipe(seconds=seconds, seed=s), **changes)) for s in range(seeds)]
            sums.append(lab.summarise(label(changes), results))
        v = lab.verdict(*sums)
        out.append({"what": what, "recipes": [s.to_dict() for s in sums],
                    "per_seed": [[r["eval_mlm_accuracy"] for r in s.results] for s in sums], "verdict": v})
        print(f"\n{what}")
        for s in sums:
            pair = "–" if s.pair_mean is None else f"{s.pair_mean:.3f}"
            print(f"  {s.label}: MLM {s.mlm_mean:.3f} ± {s.mlm_spread:.3f} (sd over {s.runs} seeds), pair {pair}, "
                  f"unigram {s.unigram:.3f}")
        print(f"  the page says: {v}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=lab.Recipe.seconds)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", choices=("speed", "compare"), default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    out = {"cores": os.cpu_count(), "seconds": a.seconds}
    if a.only in (None, "speed"):
        out["speed"] = speed(a.seconds)
    if a.only in (None, "compare"):
        out["comparisons"] = compare(a.seconds, a.seeds)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
