"""Contextual embeddings on the embedded checkpoint: speed and what the model does with the shipped examples.

    HF_HUB_OFFLINE=1 python bench/bench_contextual.py [--model embedded] [--index-sentences N] [--layer L] [--k 20]

Prints (JSON lines):
  1. similarity + projection for the 10 shipped 'bank' sentences: median time of one `analyse` (model run,
     similarity matrices, within/across curves) and of the PCA projection, after one warm-up;
  2. same-sense minus cross-sense mean similarity by layer for every shipped example word;
  3. the shipped corpus: indexing time at one layer (default: the last), rows, float16 size, and the median
     time of one nearest-uses query (matrix product + exact top-k);
  4. the k nearest uses of 'bank' in a money and in a river sentence of the examples, each with a rough sense label from its
     sentence's words (river-like words / 'West Bank' / otherwise financial) for a first reading;
  5. by layer: the rough senses of the 20 nearest 'bank' rows for both queries, among the corpus's sentences that
     contain 'bank' (the exact search ranks those rows the same with or without the other sentences), and their
     base rate. `--skip-index` runs 1, 2 and 5 only (about a minute).
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import time

from bert_playground import load
from bert_playground.interpret import contextual as C
from bert_playground.interpret import neighbours as N

MONEY_QUERY = "I had been to the bank to withdraw some money."
RIVER_QUERY = "I went to the river bank."
RIVER_WORDS = re.compile(r"\b(river|rivers|stream|creek|canal|lake|shore|water|flood|floods|riverbank|banks of|"
                         r"(north|south|east|left|right|opposite|far) bank)\b", re.IGNORECASE)


def rough_sense(sentence: str) -> str:
    if re.search(r"\bWest Bank\b", sentence):
        return "West Bank (region)"
    return "river-like" if RIVER_WORDS.search(sentence) else "financial"


def timed(fn, repeat: int) -> tuple[float, object]:
    out, times = fn(), []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def by_layer(bundle, n: int = 20) -> None:
    full = N.shipped_corpus()
    sub = N.Corpus("bank sentences", tuple(s for s in full.sentences if re.search(r"\bbank\b", s, re.IGNORECASE)))
    base = [rough_sense(s) for s in sub.sentences]
    print(json.dumps({"what": "corpus sentences with 'bank', rough senses", "sentences": len(sub),
                      "senses": {k: base.count(k) for k in dict.fromkeys(base)}}))
    for layer in range(bundle.info.layers + 1):
        index = N.build_index(bundle, sub, layer)
        row = {"what": f"rough senses of the {n} nearest 'bank' rows", "layer": layer}
        for name, query in (("money query", MONEY_QUERY), ("river query", RIVER_QUERY)):
            found = [x for x in N.search(index, N.query_vector(bundle, "bank", query, layer), N.MAX_K)
                     if x.token == "bank"][:n]
            labels = [rough_sense(x.sentence) for x in found]
            row[name] = {k: labels.count(k) for k in dict.fromkeys(labels)}
        print(json.dumps(row))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--index-sentences", type=int, default=None, help="index only the first N corpus sentences")
    ap.add_argument("--layer", type=int, default=None, help="corpus layer (default: the last)")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--skip-index", action="store_true", help="skip the full-corpus index (3 and 4)")
    args = ap.parse_args()
    bundle = load(args.model)

    pairs = C.examples()["bank"]
    sentences, senses = [s for _, s in pairs], [g for g, _ in pairs]
    t_analyse, res = timed(lambda: C.analyse(bundle, "bank", sentences, senses), 5)
    t_layer, _ = timed(lambda: res.projection("layer"), 5)
    t_all, _ = timed(lambda: res.projection("all"), 5)
    print(json.dumps({"what": "similarity + projection, 10 sentences", "model": bundle.info.name,
                      "analyse_s": round(t_analyse, 4), "pca_per_layer_s": round(t_layer, 4),
                      "pca_all_layers_s": round(t_all, 4), "total_s": round(t_analyse + t_layer, 4)}))

    for word, pairs in C.examples().items():
        r = C.analyse(bundle, word, [s for _, s in pairs], [g for g, _ in pairs])
        within, across = r.sense_curves()
        print(json.dumps({"what": "same-sense minus cross-sense similarity by layer", "word": word,
                          "within": [round(float(v), 3) for v in within], "across": [round(float(v), 3) for v in across],
                          "gap": [round(float(w - a), 3) for w, a in zip(within, across)]}))

    by_layer(bundle)
    if args.skip_index:
        return
    corpus = N.shipped_corpus()
    if args.index_sentences:
        corpus = N.Corpus(f"{corpus.name} (first {args.index_sentences})", corpus.sentences[:args.index_sentences])
    t = time.perf_counter()
    index = N.build_index(bundle, corpus, args.layer)
    t_index = time.perf_counter() - t
    q = N.query_vector(bundle, "bank", MONEY_QUERY, index.layer)
    t_query, _ = timed(lambda: N.search(index, q, args.k), 20)
    print(json.dumps({"what": "corpus index", "sentences": len(corpus), "rows": len(index), "layer": index.layer,
                      "float16_mb": round(index.nbytes / 2**20, 1), "index_s": round(t_index, 1),
                      "query_ms": round(1000 * t_query, 2)}))
    for query in (MONEY_QUERY, RIVER_QUERY):
        found = N.search(index, N.query_vector(bundle, "bank", query, index.layer), args.k)
        labels = [rough_sense(n.sentence) if n.token == "bank" else f"other word ({n.token})" for n in found]
        print(json.dumps({"what": f"nearest uses of 'bank' in '{query}'", "layer": index.layer,
                          "rough_senses": {s: labels.count(s) for s in dict.fromkeys(labels)}}))
        for n, lab in zip(found, labels):
            print(json.dumps({"similarity": round(n.similarity, 3), "token": n.token, "rough_sense": lab,
                              "sentence": n.sentence}, ensure_ascii=False))


if __name__ == "__main__":
    main()
