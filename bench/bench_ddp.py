"""Pre-training throughput: the plain command beside the same run under `torchrun` (DDP), tokens/s side by side.

Runs `python -m bert_playground pretrain ... --json` once, then `torchrun --standalone --nproc_per_node N -m
bert_playground pretrain ... --json` for each N asked, on the same corpus, model and per-rank batch, and prints
the training tokens/s of each (all ranks together) and the speed-up over the plain run. On a GPU machine
`--nproc 1` shows DDP's overhead on one GPU (torchrun with one process still joins a process group and
wraps the model in DDP), `--nproc 1 8` the scaling. Usage:

    .venv/bin/python bench/bench_ddp.py --corpus '../shared/data/wikipedia/enwiki-part0.txt.xz' [--nproc 1 2]
        [--config mini] [--batch-size 32] [--seq-len 128] [--max-steps 100] [--device auto] [--max-docs 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(nproc: int | None, args, out: Path) -> dict:
    """One pre-training run (plain when `nproc` is None); its result JSON."""
    cmd = [sys.executable] + (["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
                              if nproc else []) + [
        "-m", "bert_playground", "pretrain", "--corpus", args.corpus, "--out", str(out), "--init", "scratch",
        "--config", args.config, "--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len),
        "--max-steps", str(args.max_steps), "--max-docs", str(args.max_docs), "--eval-docs", "50",
        "--eval-pairs", "200", "--eval-every", str(10 * args.max_steps), "--log-every", str(max(args.max_steps // 5, 1)),
        "--device", args.device, "--json"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{'plain' if not nproc else f'torchrun x{nproc}'} failed:\n{p.stderr[-2000:]}")
    return json.loads([line for line in p.stdout.splitlines() if line.startswith("{")][-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--nproc", type=int, nargs="+", default=[1])
    ap.add_argument("--config", default="mini")
    ap.add_argument("--batch-size", type=int, default=32, help="per rank")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--max-steps", type=int, default=100)
    ap.add_argument("--max-docs", type=int, default=2000)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [("plain", run(None, args, Path(tmp) / "plain"))]
        rows += [(f"torchrun x{n}", run(n, args, Path(tmp) / f"ddp{n}")) for n in args.nproc]
    base = rows[0][1]["train_tokens_per_s"]
    print(f"pre-training, --config {args.config}, per-rank batch {args.batch_size} x {args.seq_len} tokens, "
          f"{args.max_steps} steps, device {rows[0][1]['device']}")
    print(f"{'run':<14}{'ranks':>6}{'global batch':>14}{'train tokens/s':>16}{'x plain':>9}")
    for name, r in rows:
        print(f"{name:<14}{r['world_size']:>6}{r['global_batch_size']:>14}{r['train_tokens_per_s']:>16.0f}"
              f"{r['train_tokens_per_s'] / base:>9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
