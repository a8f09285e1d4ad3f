"""Next-sentence prediction: accuracy of a checkpoint's NSP head on held-out Wikipedia, and warm latency.

- accuracy: `--pairs` (500) pairs drawn with the package's pair builder (`nsp.draw_pairs` ->
  `pairs.draw_pair`, labels 50/50, `--seq-len` 128 like pre-training) from the first `--docs`
  documents of the held-out Wikipedia part (../shared/data/wikipedia/enwiki-part4.txt.xz, read with
  `corpus.read_wikiextractor`), scored with `nsp.score_batch`; plus the confusion matrix. The same on
  100 pairs of the shipped demo corpus, for comparison.
- latency (warm, one pair at a time, after 3 warm-up calls): `nsp.score_pair` (pack + forward + softmax,
  what the page runs for a drawn pair) and `nsp.score_text` (tokenize + forward, what the CLI runs).

Usage:

    .venv/bin/python bench/bench_nsp.py [--model embedded] [--pairs 500] [--docs 500] [--runs 50] [--device cpu]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from timing import percentile  # the one p50/p95 of every bench (bench/timing.py)

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WIKI = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-part4.txt.xz"


def latency_ms(fn, args_list, runs: int) -> tuple[float, float]:
    for a in args_list[:3]:  # warm-up
        fn(*a)
    times = []
    for i in range(runs):
        a = args_list[i % len(args_list)]
        t0 = time.perf_counter()
        fn(*a)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), percentile(times, 0.95)


def report(name: str, res) -> None:
    (tp, fn), (fp, tn) = res.confusion
    print(f"{name}: accuracy {res.accuracy:.3f} on {len(res)} pairs "
          f"({sum(res.labels)} IsNext / {len(res) - sum(res.labels)} NotNext)")
    print(f"  confusion (rows true, cols predicted IsNext/NotNext): IsNext [{tp:4d} {fn:4d}]  NotNext [{fp:4d} {tn:4d}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--corpus", default=str(WIKI))
    ap.add_argument("--pairs", type=int, default=500)
    ap.add_argument("--docs", type=int, default=500, help="use the first N documents (>= 2 sentences)")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--device", default=None, help="auto (default) | cpu | cuda")
    args = ap.parse_args()

    import torch

    from bert_playground import load
    from bert_playground.core.device import choose_device
    from bert_playground.inputs.corpus import read_wikiextractor
    from bert_playground.objectives import nsp

    t0 = time.perf_counter()
    bundle = load(args.model, choose_device(args.device))  # also sets the CPU thread count
    print(f"model: {bundle.info.name} ({bundle.info.layers} layers, hidden {bundle.info.hidden_size}, "
          f"heads: {', '.join(h for h, ok in (('MLM', bundle.info.has_mlm), ('NSP', bundle.info.has_nsp)) if ok)}) "
          f"on {bundle.device}, {torch.get_num_threads()} thread(s); loaded in {time.perf_counter() - t0:.1f} s")
    budget = nsp.pair_budget(bundle, args.seq_len)

    t0 = time.perf_counter()
    docs = read_wikiextractor(args.corpus)[: args.docs]
    tdocs = nsp.token_docs(bundle.tokenizer, docs)
    print(f"corpus: {Path(args.corpus).name}, {len(docs)} documents, {sum(map(len, tdocs))} sentences "
          f"(read + tokenized in {time.perf_counter() - t0:.1f} s)")
    drawn = nsp.draw_pairs(tdocs, args.pairs, args.seed, budget)
    lengths = [len(p.a) + len(p.b) + 3 for p in drawn]
    print(f"pairs: {len(drawn)}, seq-len {args.seq_len}, mean length {statistics.mean(lengths):.1f} tokens, "
          f"{sum(p.truncated > 0 for p in drawn)} truncated")

    t0 = time.perf_counter()
    res = nsp.score_batch(bundle, drawn)
    dt = time.perf_counter() - t0
    report("Wikipedia (held-out)", res)
    print(f"  batch scoring: {dt:.1f} s, {len(drawn) / dt:.1f} pairs/s")

    demo = nsp.token_docs(bundle.tokenizer, nsp.demo_documents())
    report("demo corpus", nsp.score_batch(bundle, nsp.draw_pairs(demo, 100, args.seed, budget)))

    singles = [(bundle, p) for p in drawn[:20]]
    med, p95 = latency_ms(nsp.score_pair, singles, args.runs)
    print(f"latency score_pair (one pair, warm, {args.runs} runs): median {med:.1f} ms, p95 {p95:.1f} ms")
    texts = [(bundle, nsp.pair_text(bundle.tokenizer, p.a), nsp.pair_text(bundle.tokenizer, p.b)) for p in drawn[:20]]
    med, p95 = latency_ms(nsp.score_text, texts, args.runs)
    print(f"latency score_text (one pair, warm, {args.runs} runs): median {med:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
