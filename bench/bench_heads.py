"""Figures for issue 14 on the embedded checkpoint (CPU unless a GPU is present): one backbone, many heads.

  WNUT-17 entity F1 on its dev split, SQuAD EM/F1 on held-out articles, RTE accuracy, and the pretrained vs
  random-init gap on the shipped intents and on SST-2. Every run is bounded by --seconds of training.
Usage: python bench/bench_heads.py [--seconds 90] [--only wnut,squad,rte,intents,sst2] [--shared ../shared/data]
Prints one JSON line per run (task, data sizes, mode, layers, epochs, seconds, metric).
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from bert_playground import datasets
from bert_playground import finetune as F
from bert_playground.checkpoints.models import load

ROOT = Path(__file__).resolve().parent.parent


def report(name, res, **extra):
    s = res.summary()
    keep = ("task", "mode", "layers", "n_train", "n_eval", "steps", "epochs", "seconds", "examples_per_s", "device",
            "entity_f1", "precision", "recall", "exact_match", "f1", "accuracy", "macro_f1", "stopped", "max_length")
    print(json.dumps({"run": name, **{k: s[k] for k in keep if k in s}, **extra}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=90.0, help="training time limit per run")
    ap.add_argument("--only", default="wnut,squad,rte,intents,sst2")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--layers", type=int, default=None, help="encoder layers kept (default: all)")
    ap.add_argument("--device", default=None)
    a = ap.parse_args()
    only, shared = set(a.only.split(",")), Path(a.shared)
    bundle = load(None, a.device)
    cfg = dict(layers=a.layers, max_seconds=a.seconds, device=str(bundle.device))
    if "wnut" in only:
        train = datasets.read_conll_file(shared / "ner/wnut17/wnut17train.conll")
        dev = datasets.read_conll_file(shared / "ner/wnut17/emerging.dev.conll", train.label_names)
        res = F.run(bundle, train, dev, F.FinetuneConfig(task="tag", epochs=3, batch_size=32, lr=1e-4, max_length=64, **cfg))
        report("wnut17 train -> dev", res)
    if "squad" in only:
        data = datasets.read_squad_file(shared / "squad/squad-v1.1-dev-articles-00-39.json.xz")
        train, held = data.articles(data.titles[:32]), data.articles(data.titles[32:])
        res = F.run(bundle, train.head(5000), held.head(500),
                    F.FinetuneConfig(task="qa", epochs=1, batch_size=32, lr=1e-4, max_length=192, stride=64, **cfg))
        report("squad 32 articles -> 8 held-out articles", res, held_out_articles=list(held.titles))
    if "rte" in only:
        tr, dv = datasets.read_file(shared / "rte/train.tsv"), datasets.read_file(shared / "rte/dev.tsv")
        train, dev = datasets.train_and_holdout(tr, "sentence1", "label", "sentence2", dv)
        for mode in ("full", "random"):
            res = F.run(bundle, train, dev, F.FinetuneConfig(task="pairs", mode=mode, epochs=3, batch_size=32, lr=5e-5 if mode == "full" else 5e-4,
                                                              max_length=128, **cfg))
            report(f"rte train -> dev ({mode})", res)
    if "intents" in only:
        train, test = datasets.shipped()
        for mode in ("full", "random", "frozen", "baseline"):
            res = F.run(bundle if mode != "baseline" else None, train, test,
                        F.FinetuneConfig(mode=mode, epochs=5 if mode != "baseline" else 30, **cfg))
            report(f"intents ({mode})", res)
    if "sst2" in only:
        tr, dv = datasets.read_file(shared / "sst2/train.tsv"), datasets.read_file(shared / "sst2/dev.tsv")
        train, dev = datasets.train_and_holdout(tr, "sentence", "label", None, dv)
        idx = random.Random(0).sample(range(len(train)), 4000)
        train = train.subset(sorted(idx))
        for mode, pooling in (("full", "cls"), ("random", "cls"), ("frozen", "cls"), ("frozen", "mean")):
            res = F.run(bundle, train, dev, F.FinetuneConfig(mode=mode, pooling=pooling, epochs=2, batch_size=32,
                                                              lr=5e-5 if mode == "full" else None, max_length=64, **cfg))
            report(f"sst2 4000 -> dev ({mode}, {pooling})", res)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(json.dumps({"total_seconds": round(time.time() - t0, 1)}))
