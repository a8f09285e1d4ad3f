"""Figures for the Explanations page: which ranking explains a cloze guess best, and how long things take.

Usage: python bench/bench_explain.py [--model embedded|PATH] [--steps 32] [--baseline mask] [--rounds 3] [--json]

1. Deletion test on 20 cloze sentences (one [MASK] each): for each, the model's top guess is explained by raw
   attention (last layer, mean over heads), attention rollout and integrated gradients, and up to K = 10 of each
   ranking's top tokens are replaced by [MASK]; the area under the probability curve (k = 0..K, divided by K;
   lower = falls faster) is averaged over the sentences, beside 20 random orderings per sentence.
2. "The capital of France is [MASK].": the token each method ranks first (special tokens and the mask excluded).
3. CPU time, median of --rounds warm runs: IG with --steps steps on a 32-token input; the neuron view of one head;
   joint fill of 3 masks (most-confident-first).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CLOZE = [
    "The capital of France is [MASK].",
    "The sun rises in the [MASK] and sets in the west.",
    "Monday, Tuesday, [MASK], Thursday, Friday.",
    "She poured a cup of [MASK] and sat down to read.",
    "He played the [MASK] in a jazz band for ten years.",
    "Water boils at one hundred degrees [MASK].",
    "I need to buy some [MASK] at the supermarket.",
    "The [MASK] barked at the mailman all morning.",
    "They travelled to Japan by [MASK].",
    "The children were playing in the [MASK] after school.",
    "She wrote a [MASK] to her grandmother every week.",
    "He opened the door with a [MASK].",
    "The [MASK] is the largest planet in the solar system.",
    "Bread is made from flour, water and [MASK].",
    "The [MASK] of the United States lives in the White House.",
    "Please turn off the [MASK] when you leave the room.",
    "The company reported strong [MASK] in the third quarter.",
    "The doctor told him to get more [MASK].",
    "Berlin is the capital of [MASK].",
    "The students handed in their [MASK] to the teacher.",
]
INPUT_32 = ("After the long winter the farmers in the northern valley finally began to plant [MASK] in the "
            "fields again this spring, hoping for rain and a good harvest.")  # 32 tokens with [CLS] and [SEP]
THREE_MASKS = "The [MASK] of France is [MASK], and its largest city is [MASK]."


def timed(fn, rounds: int) -> float:
    fn()  # warm
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="embedded")
    p.add_argument("--steps", type=int, default=32)
    p.add_argument("--baseline", default="mask")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from bert_playground.checkpoints.models import load
    from bert_playground.core.device import describe
    from bert_playground.interpret import attribution as A
    from bert_playground.interpret.neuron import neuron_view
    from bert_playground.objectives.decoding import joint_fill

    bundle = load(args.model)
    areas: dict[str, list[float]] = {m: [] for m in A.DELETION_METHODS + ("random",)}
    for text in CLOZE:
        e = A.explain(A.mask_target(bundle, text), args.baseline, args.steps)
        for m, v in e.deletion.areas.items():
            areas[m].append(v)
    mean_auc = {m: statistics.mean(v) for m, v in areas.items()}
    wins = {m: sum(areas[m][i] == min(areas[n][i] for n in A.DELETION_METHODS) for i in range(len(CLOZE)))
            for m in A.DELETION_METHODS}

    e = A.explain(A.mask_target(bundle, CLOZE[0]), args.baseline, args.steps)
    t = e.target
    first = {m: t.tokens[A.ranking(e.scores[m], t.candidates)[0]] for m in A.METHODS}
    top3 = {m: [t.tokens[i] for i in A.ranking(e.scores[m], t.candidates)[:3]] for m in A.METHODS}

    t32 = A.mask_target(bundle, INPUT_32)
    ig_s = timed(lambda: A.integrated_gradients(t32, args.baseline, args.steps), args.rounds)
    neuron_s = timed(lambda: neuron_view(bundle, INPUT_32, bundle.info.layers - 1, 0, 1), args.rounds)
    joint_s = timed(lambda: joint_fill(bundle, THREE_MASKS), args.rounds)
    j = joint_fill(bundle, THREE_MASKS)
    out = {
        "model": bundle.info.name, "device": describe(bundle.device), "baseline": args.baseline, "steps": args.steps,
        "sentences": len(CLOZE), "mean_deletion_auc": mean_auc, "lowest_auc_count": wins,
        "france": {"prediction": t.prediction, "probability": t.probability, "first": first, "top3": top3,
                   "ig_delta": e.ig.delta},
        "ig_tokens": len(t32), "ig_seconds": ig_s, "neuron_seconds": neuron_s, "joint3_seconds": joint_s,
        "joint3": {"filled": j.filled, "independent": list(j.independent), "order": list(j.order)},
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['model']} on {out['device']}; IG baseline {args.baseline}, {args.steps} steps")
        print(f"mean area under the deletion curve over {len(CLOZE)} cloze sentences (lower = falls faster):")
        for m, v in mean_auc.items():
            print(f"  {m:<22} {v:.4f}" + (f"   (lowest of the three on {wins[m]})" if m in wins else ""))
        print(f"'{CLOZE[0]}' -> {t.prediction} ({t.probability:.3f}); ranked first: "
              + ", ".join(f"{m} {w}" for m, w in first.items()))
        print(f"IG {args.steps} steps on {len(t32)} tokens: {ig_s:.2f} s; neuron view of one head: "
              f"{neuron_s * 1000:.0f} ms; joint fill of 3 masks: {joint_s * 1000:.0f} ms ({j.filled})")
    return out


if __name__ == "__main__":
    main()
