"""Fine-tuning on SST-2: dev accuracy, training examples/s and wall time, CPU and (when present) GPU.

- CPU: a `--cpu-train` (2000) example random subset of SST-2 train (seed 0), evaluated on the whole dev
  split of ../shared/data/sst2 (6,735 sentences in the copy there): frozen encoder (all layers, head
  only, `--frozen-epochs` 10: [CLS] features are computed once, so head epochs are nearly free), full
  fine-tuning of a 2-layer "tiny" copy and the bag-of-words baseline (`--cpu-epochs` 2); one evaluation
  at the end, the package's defaults otherwise (learning rates, batch 16).
- GPU (only where torch.cuda.is_available()): full fine-tuning of the whole checkpoint for one epoch of
  the full train split (60,614 phrases there), bf16 autocast, batch 32. Goal on one H100: <= 60 s, dev >= 0.87.
Wall time covers the whole `finetune.run` (tokenisation, model copy, [CLS] features, training, evaluations);
examples/s counts training only. Data: ../shared/data/sst2/{train,dev}.tsv (not shipped with the app).

Usage:

    .venv/bin/python bench/bench_finetune.py [--model embedded] [--cpu-train 2000] [--skip-cpu] [--skip-gpu]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SST2 = ROOT.parent / "shared" / "data" / "sst2"
END = 1_000_000  # eval_every: evaluate once, at the end


def read_sst2(folder: Path):
    from bert_playground import datasets

    if not (folder / "train.tsv").is_file():
        sys.exit(f"SST-2 not found in {folder} (expects train.tsv and dev.tsv with 'sentence' and 'label').")
    train = datasets.to_labelled(datasets.read_file(folder / "train.tsv"), "sentence", "label")
    dev = datasets.to_labelled(datasets.read_file(folder / "dev.tsv"), "sentence", "label", label_names=train.label_names)
    return train, dev


def subset(data, k: int, seed: int = 0):
    if k >= len(data):
        return data
    idx = sorted(random.Random(seed).sample(range(len(data)), k))
    return data.subset(idx, f"{data.name} ({k:,} random)")


def line(name: str, res) -> str:
    m = res.metrics
    return (f"{name:<34} dev acc {m.accuracy:.4f}  macro-F1 {m.macro_f1:.4f}  train {res.n_train:>6,}  "
            f"epochs {res.epochs:.2f}  {res.examples_per_s:>9,.0f} ex/s  wall {res.seconds:7.1f} s  [{res.device}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--data", default=str(SST2))
    ap.add_argument("--cpu-train", type=int, default=2000)
    ap.add_argument("--cpu-epochs", type=int, default=2)
    ap.add_argument("--frozen-epochs", type=int, default=10, help="head-only epochs cost almost nothing")
    ap.add_argument("--gpu-batch", type=int, default=32)
    ap.add_argument("--gpu-lr", type=float, default=1e-4)
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--skip-gpu", action="store_true")
    args = ap.parse_args()

    import torch

    from bert_playground import finetune as F
    from bert_playground import load

    train, dev = read_sst2(Path(args.data))
    print(f"SST-2: {len(train):,} train / {len(dev):,} dev · model {args.model} · torch {torch.__version__}")
    if not args.skip_cpu:
        cpu = load(args.model, "cpu")
        small = subset(train, args.cpu_train)
        print(f"CPU, {len(small):,} training examples, whole dev split:")
        runs = [
            (f"frozen encoder ({cpu.info.layers} layers), head", F.FinetuneConfig(mode="frozen", epochs=args.frozen_epochs, eval_every=END)),
            ("full fine-tuning, 2 layers kept", F.FinetuneConfig(mode="full", layers=2, epochs=args.cpu_epochs, eval_every=END)),
            ("bag-of-words baseline", F.FinetuneConfig(mode="baseline", epochs=args.cpu_epochs, eval_every=END)),
        ]
        for name, cfg in runs:
            print(line(name, F.run(cpu, small, dev, cfg)), flush=True)
        del cpu
    if args.skip_gpu:
        return
    if not torch.cuda.is_available():
        print("GPU: no CUDA device here; the full-checkpoint, full-split run was skipped.")
        return
    gpu = load(args.model, "cuda")
    cfg = F.FinetuneConfig(mode="full", epochs=1, batch_size=args.gpu_batch, lr=args.gpu_lr, max_length=128,
                           warmup=0.06, eval_every=END)
    print(f"GPU, whole checkpoint ({gpu.info.layers} layers), one epoch of the full train split, "
          f"batch {args.gpu_batch}, lr {args.gpu_lr:g}, bf16 autocast:")
    warm = F.run(gpu, subset(train, 512), subset(dev, 128), F.FinetuneConfig(mode="full", epochs=1, batch_size=32))
    print(f"  (warm-up run first, CUDA context and kernels: {warm.seconds:.1f} s, not counted)")
    res = F.run(gpu, train, dev, cfg)
    print(line("full fine-tuning, whole model", res))
    print(f"goal: wall <= 60 s and dev accuracy >= 0.87 -> "
          f"{'met' if res.seconds <= 60 and res.metrics.accuracy >= 0.87 else 'NOT met'}")


if __name__ == "__main__":
    main()
