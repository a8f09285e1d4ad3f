"""Warm fill-mask latency: bert_playground.objectives.mlm.fill vs a plain transformers fill-mask pipeline, same checkpoint.

Usage: python bench/bench_fill_mask.py [--model embedded|PATH] [--rounds 3] [--top-k 5] [--json]

Both paths run in this process, on the same device and CPU thread count, over the same >= 50 queries
(<= 32 tokens, one or two masks each), interleaved query by query so background load hits both alike.
The pipeline's model is BertForMaskedLM loaded from the same checkpoint folder (its MLM-head weights are
the checkpoint's, whether it was saved as BertForMaskedLM or BertForPreTraining). Also times one rerun of
the Masked-LM page under Streamlit's AppTest (a new seed: masking, scoring and 1,000-draw statistics).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from timing import percentile  # the one p50/p95 of every bench (bench/timing.py)

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SENTENCES = [
    "The capital of France is [MASK].",
    "The sun rises in the [MASK] and sets in the west.",
    "Monday, Tuesday, [MASK], Thursday, Friday.",
    "She poured a cup of [MASK] and sat down to read.",
    "The cat sat on the [MASK].",
    "He played the [MASK] in a jazz band for ten years.",
    "Water boils at one hundred degrees [MASK].",
    "The river flows into the [MASK] near the old harbour.",
    "I need to buy some [MASK] at the supermarket.",
    "The doctor told him to get more [MASK].",
    "Paris is the [MASK] of [MASK].",
    "The [MASK] barked at the mailman all morning.",
    "They travelled to Japan by [MASK].",
    "The children were playing in the [MASK] after school.",
    "She wrote a [MASK] to her grandmother every week.",
    "The football match ended in a [MASK].",
    "He opened the door with a [MASK].",
    "The [MASK] is the largest planet in the solar system.",
    "Bread is made from flour, water and [MASK].",
    "The museum is closed on [MASK].",
    "The [MASK] of the United States lives in the White House.",
    "It was so cold that the lake [MASK] over.",
    "Please turn off the [MASK] when you leave the room.",
    "The company reported strong [MASK] in the third quarter.",
    "The [MASK] [MASK] was built in the twelfth century.",
    "After the long winter, the farmers in the northern valley finally began to plant [MASK] in the fields again.",
    "The orchestra played a symphony by [MASK], and the audience stood up to applaud at the end of the concert.",
    "Scientists at the university published a study showing that regular [MASK] improves both sleep and mood in adults.",
    "When the train arrived at the station, the passengers collected their [MASK] and walked slowly to the exit.",
    "The old library in the centre of the town holds thousands of rare [MASK] written by hand centuries ago.",
]


def queries(tokenizer, limit: int = 32, n: int = 50) -> list[str]:
    """>= n queries of <= limit tokens: the sentences, then the same with another word masked."""
    from bert_playground.objectives.mlm import mask_word, words

    out = list(SENTENCES)
    for s in SENTENCES:
        w = words(s)
        for i in (0, len(w) // 2):
            if "[MASK]" not in w[i] and len(out) < max(n, 60):
                out.append(mask_word(s, i))
    out = [q for q in out if len(tokenizer(q)["input_ids"]) <= limit]
    assert len(out) >= n, len(out)
    return out


def bench_fill(model: str, top_k: int, rounds: int) -> dict:
    import torch
    from transformers import AutoTokenizer, BertForMaskedLM, pipeline
    from transformers.utils import logging as hf_logging

    from bert_playground import load
    from bert_playground.objectives.mlm import fill

    hf_logging.set_verbosity_error()
    bundle = load(model)
    folder = bundle.info.path
    hf_model = BertForMaskedLM.from_pretrained(folder, dtype=torch.float32, use_safetensors=True, local_files_only=True)
    pipe = pipeline("fill-mask", model=hf_model.to(bundle.device).eval(),
                    tokenizer=AutoTokenizer.from_pretrained(folder, local_files_only=True),
                    device=bundle.device, top_k=top_k)
    qs = queries(bundle.tokenizer)
    for q in qs[:5]:  # warm-up both paths
        fill(bundle, q, top_k)
        pipe(q)
    ours, theirs, agree = [], [], 0
    for r in range(rounds):
        for i, q in enumerate(qs):
            order = (0, 1) if (i + r) % 2 == 0 else (1, 0)
            for who in order:
                t = time.perf_counter()
                out = fill(bundle, q, top_k) if who == 0 else pipe(q)
                (ours if who == 0 else theirs).append((time.perf_counter() - t) * 1000)
                if r == 0 and who == 0:
                    mine = [m.predictions[0].token_id for m in out.masks]
                elif r == 0:
                    ref = [out[0]["token"]] if isinstance(out[0], dict) else [o[0]["token"] for o in out]
            if r == 0:
                agree += mine == ref
    lengths = [len(bundle.tokenizer(q)["input_ids"]) for q in qs]
    return {
        "model": bundle.info.name, "layers": bundle.info.layers, "hidden": bundle.info.hidden_size,
        "device": str(bundle.device), "threads": torch.get_num_threads(), "queries": len(qs),
        "timed_calls_each": len(ours), "tokens_min": min(lengths), "tokens_max": max(lengths), "top_k": top_k,
        "package_median_ms": statistics.median(ours), "package_p95_ms": percentile(ours, 0.95),
        "pipeline_median_ms": statistics.median(theirs), "pipeline_p95_ms": percentile(theirs, 0.95),
        "ratio_median": statistics.median(ours) / statistics.median(theirs),
        "ratio_p95": percentile(ours, 0.95) / percentile(theirs, 0.95),
        "top1_agreement": agree / len(qs),
    }


def bench_page(model: str, reruns: int = 5) -> dict:
    """One Masked-LM page rerun under AppTest: cold (model load), new seed (cache miss), unchanged (cache hit)."""
    from streamlit.testing.v1 import AppTest

    os.environ["BERT_PLAYGROUND_MODEL"] = model
    os.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "2_Masked_LM.py"), default_timeout=300)
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    if at.exception:
        raise SystemExit(f"the page failed: {[e.value for e in at.exception]}")
    new_seed, cached = [], []
    for i in range(reruns):
        at.number_input(key="mlm_seed").set_value(100 + i)
        t = time.perf_counter()
        at.run()
        new_seed.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        at.run()
        cached.append((time.perf_counter() - t) * 1000)
    return {"page_cold_s": cold, "page_rerun_new_seed_ms": statistics.median(new_seed),
            "page_rerun_cached_ms": statistics.median(cached), "page_reruns": reruns}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="embedded", help="'embedded' (default), a checkpoint folder or a Hub id")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3, help="passes over the queries (each query timed once per pass)")
    p.add_argument("--no-page", action="store_true", help="skip the AppTest page rerun")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from bert_playground.core import memory

    memory.tune_allocator()  # the app's allocator policy, set as the app sets it: at start-up, before torch loads
    res = bench_fill(args.model, args.top_k, args.rounds)
    if not args.no_page:
        res.update(bench_page(args.model))
    if args.json:
        print(json.dumps(res, indent=1))
        return 0
    print(f"checkpoint {res['model']} ({res['layers']} layers, hidden {res['hidden']}), device {res['device']}, "
          f"{res['threads']} CPU thread(s); {res['queries']} queries of {res['tokens_min']}-{res['tokens_max']} tokens, "
          f"top-k {res['top_k']}, {res['timed_calls_each']} timed calls per path")
    print(f"{'path':<34}{'median ms':>10}{'p95 ms':>10}")
    print(f"{'bert_playground.objectives.mlm.fill':<34}{res['package_median_ms']:>10.2f}{res['package_p95_ms']:>10.2f}")
    print(f"{'transformers fill-mask pipeline':<34}{res['pipeline_median_ms']:>10.2f}{res['pipeline_p95_ms']:>10.2f}")
    print(f"{'ratio package / pipeline':<34}{res['ratio_median']:>10.2f}{res['ratio_p95']:>10.2f}   (goal <= 0.70)")
    print(f"top-1 agreement with the pipeline: {res['top1_agreement']:.0%}")
    if "page_cold_s" in res:
        print(f"Masked-LM page (AppTest): cold run {res['page_cold_s']:.2f} s (loads the model), rerun with a new seed "
              f"{res['page_rerun_new_seed_ms']:.0f} ms, cached rerun {res['page_rerun_cached_ms']:.0f} ms "
              f"(median of {res['page_reruns']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
