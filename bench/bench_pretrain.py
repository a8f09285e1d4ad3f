"""Pre-training throughput: tokens/s of the real `pretrain()` loop, per precision, on the available device.

Each row is a short real run of `bert_playground.pretraining.pretrain.pretrain` (MiniLM init, MLM + NSP, dynamic
80/10/10 masking, the shared pair builder) on the first `--docs` articles of a Wikipedia part, for
`--seconds` of training; tokens/s is the run's own `train_tokens_per_s` (non-padding tokens over training time,
after the corpus has been tokenised and the pairs packed). Nothing is asserted; the output folders are
temporary. Data: ../shared/data/wikipedia/enwiki-part0.txt.xz (not shipped with the app).

Goal (issue 5): >= 1.0M tokens/s on one H100 at sequence length 128. On a CPU, compare fp32 with bf16
autocast (a CPU with AVX512-BF16 or AMX runs bf16 matmuls faster; the weights stay float32).

Usage:

    .venv/bin/python bench/bench_pretrain.py [--seconds 60] [--docs 300] [--batch-size 16|256]
                                             [--precisions fp32,bf16] [--device cpu|cuda]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WIKI = ROOT.parent / "shared" / "data" / "wikipedia"


def run(precision: str, args) -> dict:
    from bert_playground.pretraining.pretrain import PretrainConfig, pretrain

    with tempfile.TemporaryDirectory() as out:
        cfg = PretrainConfig(corpus=str(WIKI / "enwiki-part0.txt.xz"), out=out, init="minilm", eval_docs=20,
                             eval_pairs=64, max_docs=args.docs, batch_size=args.batch_size, max_seconds=args.seconds,
                             warmup_steps=10, eval_every=10**9, log_every=10**9, save_every_seconds=10**9,
                             device=args.device, precision=precision)
        return pretrain(cfg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--docs", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=None, help="default: 256 on CUDA, 16 on CPU")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--device", default=None)
    args = ap.parse_args()
    if not (WIKI / "enwiki-part0.txt.xz").is_file():
        sys.exit(f"Wikipedia sample not found in {WIKI}.")
    from bert_playground.core.device import choose_device

    device = choose_device(args.device)
    args.batch_size = args.batch_size or (256 if device.type == "cuda" else 16)
    print(f"pre-training throughput: {args.docs} articles, batch {args.batch_size}, seq 128, {args.seconds:.0f} s per row")
    print(f"{'precision':<10} {'device':<24} {'steps':>6} {'tokens':>10} {'tokens/s':>10} {'held-out MLM':>12}")
    for precision in args.precisions.split(","):
        r = run(precision.strip(), args)
        print(f"{precision:<10} {r['device']:<24} {r['steps']:>6} {r['run_tokens']:>10,} {r['train_tokens_per_s']:>10,.0f} "
              f"{r['eval_mlm_accuracy']:>12.3f}", flush=True)


if __name__ == "__main__":
    main()
