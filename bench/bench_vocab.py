"""Vocabularies trained on the labs' shipped corpus: fertility, [UNK] rate, whole words, embedding cost and training
time at several sizes for each algorithm (the Tokenizer lab's "train your own" table), beside the embedded
checkpoint's own WordPiece vocabulary measured on the same held-out articles.

Usage: python bench/bench_vocab.py [--sizes 2000,8000,30000] [--cased] [--json FILE]

The corpus's training articles train each vocabulary (the `tokenizers` library's trainers, lowercased unless
--cased); its last 30 articles are held out and measured on (`vocab.lab_text`). Embedding cost: size x 768
(BERT-base's hidden size). Times are wall seconds of one training run on this machine.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bert_playground.inputs import vocab  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="2000,8000,30000")
    ap.add_argument("--cased", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    train, held = vocab.lab_text()
    words = sum(len(line.split()) for line in train)
    held_words = sum(len(line.split()) for line in held)
    print(f"corpus: {words:,} training words, {held_words:,} held-out words; {os.cpu_count()} cores")
    print(f"{'algorithm':<10} {'size':>7} {'fertility':>9} {'[UNK]':>7} {'whole words':>11} {'embedding':>11} "
          f"{'train s':>8}")
    rows = []
    for algorithm in vocab.ALGORITHMS:
        for size in (int(s) for s in a.sizes.split(",")):
            t = vocab.train(train, algorithm, size, lowercase=not a.cased)
            s = vocab.trained_stats(t, held)
            rows.append({"algorithm": algorithm, "requested": size, **s.to_dict(), "seconds": round(t.seconds, 2)})
            print(f"{algorithm:<10} {s.size:>7,} {s.fertility:>9.3f} {s.unk_rate:>7.4f} {s.whole_word_share:>11.3f} "
                  f"{s.embedding_parameters / 1e6:>10.2f}M {t.seconds:>8.2f}", flush=True)
    from bert_playground.checkpoints.models import load

    bundle = load("embedded", "cpu")
    s = vocab.checkpoint_stats(bundle, held)
    rows.append({"algorithm": "embedded checkpoint (bert-base-uncased WordPiece)", **s.to_dict()})
    share = "" if s.embedding_share is None else f" ({s.embedding_share:.0%} of the model's parameters)"
    print(f"embedded checkpoint's vocabulary: {s.size:,} entries, fertility {s.fertility:.3f}, [UNK] {s.unk_rate:.4f}, "
          f"whole words {s.whole_word_share:.3f}, embedding {s.embedding_parameters / 1e6:.2f}M{share}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
