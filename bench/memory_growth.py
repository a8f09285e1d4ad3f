"""Memory growth over many mixed package queries on one loaded model (goal: <= 50 MB over 500 queries).

Loads the checkpoint, warms every path up once (so one-off allocations are not counted as growth), then
runs `--queries` (500) calls cycling through fill-mask, NSP, attention and representation (with the
embedding parts) on varied inputs of 5 to ~500 tokens, and prints the process's resident memory (RSS,
from /proc) before, every 50 queries and after, plus the peak (VmHWM). Then it asks glibc to hand its
free memory back (malloc_trim) and prints RSS again: what remains is memory really held (a leak would
stay), the rest is freed memory the allocator keeps for reuse. glibc keeps a lot of it for the large,
varied tensors here ((1, T, 30522) MLM logits, (L, H, T, T) attention maps); a fixed mmap threshold
makes it return them at once: the app sets it at start-up (`bert_playground.core.memory.tune_allocator`, mallopt), and
this bench does the same unless `--allocator default`. Usage:

    .venv/bin/python bench/memory_growth.py [--model embedded] [--queries 500] [--allocator app|default] [--json]
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench_fill_mask import SENTENCES  # noqa: E402


def proc_mb(field: str = "VmRSS", pid: int | str = "self") -> float:
    """A memory figure of a process from /proc/<pid>/status, in MB (NaN where /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def malloc_trim() -> bool:
    """Return the allocator's free memory to the OS (glibc only); False where unavailable."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0) or True)
    except (OSError, AttributeError):
        return False


def query_plan(n: int, seed: int = 0) -> list[tuple]:
    """n mixed queries: (kind, text_a, text_b), lengths from a few tokens to a truncated ~500."""
    rng = random.Random(seed)
    plain = [s.replace("[MASK]", w) for s, w in zip(SENTENCES, ["Paris", "east", "Wednesday", "tea", "mat"] * 10)]
    kinds = ["fill", "nsp", "attention", "represent"]
    out = []
    for i in range(n):
        kind = kinds[i % 4]
        k = rng.choice([1, 1, 2, 4, 12, 40])  # sentences glued together: 10 to >512 tokens
        a = " ".join(rng.choice(plain) for _ in range(k))
        b = " ".join(rng.choice(plain) for _ in range(rng.choice([1, 2, 4])))
        if kind == "fill":
            a = rng.choice(SENTENCES) + " " + " ".join(rng.choice(plain) for _ in range(k - 1))
        out.append((kind, a, b if kind in ("nsp", "attention", "represent") and rng.random() < 0.7 else None))
    return out


def run_query(bundle, kind: str, a: str, b: str | None):
    from bert_playground.inputs import representation
    from bert_playground.interpret import attention
    from bert_playground.objectives import mlm, nsp
    if kind == "fill":
        return mlm.fill(bundle, a, 5)
    if kind == "nsp":
        return nsp.score_text(bundle, a, b or "And then it rained.")
    if kind == "attention":
        maps = attention.compute(bundle, a, b)
        return attention.head_stats(maps), attention.rollout(maps.attentions)
    rep = representation.represent(bundle, a, b)
    return representation.embedding_parts(bundle, rep.encoding)


def measure(model: str = "embedded", queries: int = 500, report_every: int = 50, quiet: bool = False,
            allocator: str = "app") -> dict:
    from bert_playground import load
    from bert_playground.core import memory
    if allocator != "app":  # glibc's and PyTorch's own policies (a parent bench may have set the app's in the env)
        os.environ.pop(memory.THP_ENV, None)
    tuned = memory.tune_allocator() if allocator == "app" else False  # what the app does at start-up

    bundle = load(model)
    plan = query_plan(queries)
    for q in query_plan(8, seed=1):  # warm-up: every path and a long input once
        run_query(bundle, *q)
    gc.collect()
    before = proc_mb()
    marks = []
    t0 = time.perf_counter()
    for i, q in enumerate(plan, 1):
        run_query(bundle, *q)
        if i % report_every == 0 or i == len(plan):
            gc.collect()
            marks.append((i, proc_mb()))
            if not quiet:
                print(f"  after {i:>4} queries: RSS {marks[-1][1]:7.1f} MB", flush=True)
    seconds = time.perf_counter() - t0
    after = marks[-1][1]
    peak = proc_mb("VmHWM")
    trimmed = proc_mb() if malloc_trim() else float("nan")
    return {"model": bundle.info.name, "queries": len(plan), "rss_before_mb": before, "rss_after_mb": after,
            "growth_mb": after - before, "rss_after_trim_mb": trimmed, "growth_after_trim_mb": trimmed - before,
            "peak_mb": peak, "seconds": seconds, "marks": marks, "goal_mb": 50.0,
            "malloc_env": {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")},
            "allocator": allocator, "allocator_tuned": tuned}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--allocator", choices=("app", "default"), default="app",
                    help="app: the policy the app sets at start-up (memory.tune_allocator); default: glibc's own")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.json:
        print(f"memory growth: {args.queries} mixed queries (fill, nsp, attention, represent) on '{args.model}'")
    res = measure(args.model, args.queries, quiet=args.json, allocator=args.allocator)
    if args.json:
        print(json.dumps(res))
        return 0
    ok = "met" if res["growth_mb"] <= res["goal_mb"] else "NOT met"
    print(f"RSS before {res['rss_before_mb']:.1f} MB, after {res['rss_after_mb']:.1f} MB: growth "
          f"{res['growth_mb']:+.1f} MB (goal <= 50 MB: {ok}); peak {res['peak_mb']:.1f} MB; "
          f"{res['queries']} queries in {res['seconds']:.1f} s"
          + (f" [{' '.join(f'{k}={v}' for k, v in res['malloc_env'].items())}]" if res["malloc_env"] else "")
          + f" [allocator: {res['allocator']}{', tuned by mallopt' if res['allocator_tuned'] else ''}]")
    print(f"after malloc_trim(0): RSS {res['rss_after_trim_mb']:.1f} MB, growth {res['growth_after_trim_mb']:+.1f} MB "
          "(memory really held; the rest was free memory kept by the allocator)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
