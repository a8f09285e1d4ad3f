"""`attention`, `attribute`, `neuron`, `context`, `neighbours`, `probe`: reading the model."""
from __future__ import annotations

from ..core.errors import PlaygroundError
from .common import json_arg, load_model, model_arg, print_notices

# ---- attention (Attention page) -----------------------------------------------------------


def add_attention(sub):
    p = sub.add_parser("attention", help="every attention map (layers x heads x T x T) of a text or pair")
    p.add_argument("sent_a")
    p.add_argument("sent_b", nargs="?", default=None)
    p.add_argument("--causal", action="store_true", help="run with a left-to-right mask (for comparison)")
    model_arg(p)
    json_arg(p)


def run_attention(args):
    from ..interpret.attention import compute, head_stats

    maps = compute(load_model(args), args.sent_a, args.sent_b, causal=args.causal)
    print_notices(maps.notices)
    out = maps.to_dict()
    if args.json:
        return out
    s = head_stats(maps)
    rows = [[float(v.mean()) for v in (s.to_cls[i], s.to_sep[i], s.to_self[i], s.entropy[i])] for i in range(maps.layers)]
    return {**out, "shape": list(maps.attentions.shape), "per_layer": rows}


def text_attention(res):
    n_layers, n_heads, t, _ = res["shape"]
    b = res["sentence_b_start"]
    lines = [f"model: {res['model']}", " ".join(res["tokens"]),
             f"attentions: {n_layers} layers x {n_heads} heads x {t} x {t} tokens" + (f"; sentence B starts at {b}" if b else ""),
             "layer  to [CLS]  to [SEP]  to self  entropy (bits, mean over heads; --json for every weight)"]
    lines += [f"{i + 1:>5}  {c:>8.3f}  {s:>8.3f}  {d:>7.3f}  {e:>7.2f}" for i, (c, s, d, e) in enumerate(res["per_layer"])]
    return "\n".join(lines)


def add_attribute(sub):
    from ..interpret import attribution

    p = sub.add_parser("attribute", help="why the model said that: attention, rollout, gradient x input and "
                                         "integrated gradients for one prediction, and a deletion test")
    p.add_argument("text")
    p.add_argument("text_b", nargs="?", default=None)
    p.add_argument("--target", choices=attribution.CLI_TARGETS, default=attribution.CLI_TARGETS[0],
                   help="mask: the top guess at the first [MASK] (default); nsp: the IsNext/NotNext decision")
    p.add_argument("--steps", type=int, default=attribution.DEFAULT_STEPS,
                   help=f"integrated-gradients steps (default {attribution.DEFAULT_STEPS}, at most {attribution.MAX_STEPS})")
    p.add_argument("--baseline", choices=attribution.BASELINES, default=attribution.DEFAULT_BASELINE,
                   help="what IG starts from: every token as [MASK] (default), [PAD], or a zero embedding")
    p.add_argument("--layer", type=int, default=None, help="raw attention: layer, 0-based (default: the last)")
    p.add_argument("--head", type=int, default=None, help="raw attention: head, 0-based (default: mean over heads)")
    p.add_argument("--k", type=int, default=10, help="deletion test: remove up to K tokens (default 10)")
    model_arg(p)
    json_arg(p)


def run_attribute(args):
    from ..interpret import attribution

    bundle = load_model(args)
    if args.target == "nsp":
        if args.text_b is None:
            raise PlaygroundError("--target nsp needs two sentences: TEXT and TEXT_B.")
        target = attribution.nsp_target(bundle, args.text, args.text_b)
    else:
        target = attribution.mask_target(bundle, args.text, args.text_b)
    e = attribution.explain(target, args.baseline, args.steps, args.layer, args.head, args.k)
    print_notices(e.notices)
    out = e.to_dict()
    if args.json:
        return out
    return {**out, "baseline_probability": e.ig.baseline_probability, "areas": e.deletion.areas,
            "candidates": target.candidates}


def text_attribute(res):
    lines = [f"{res['target']}: {res['prediction']} (p = {res['probability']:.4f}); IG delta {res['ig_delta']:.2g}",
             f"{'token':<16} {'attention':>9} {'rollout':>9} {'grad*in':>9} {'IG':>9}"]
    s = res["scores"]
    for i, t in enumerate(res["tokens"]):
        lines.append(f"{t:<16} {s['attention'][i]:>9.4f} {s['rollout'][i]:>9.4f} {s['grad_x_input'][i]:>9.4f} "
                     f"{s['integrated_gradients'][i]:>9.4f}")
    lines.append("deletion test, area under the curve (lower = falls faster): "
                 + ", ".join(f"{m} {v:.4f}" for m, v in res["areas"].items()))
    return "\n".join(lines)


def add_neuron(sub):
    p = sub.add_parser("neuron", help="the neuron view: query, keys, q*k, scores and softmax of one head")
    p.add_argument("text")
    p.add_argument("--layer", type=int, required=True, help="0-based")
    p.add_argument("--head", type=int, required=True, help="0-based")
    p.add_argument("--query", type=int, required=True, help="0-based index into the tokens ([CLS] is 0)")
    model_arg(p)
    json_arg(p)


def run_neuron(args):
    from ..interpret.neuron import neuron_view

    v = neuron_view(load_model(args), args.text, args.layer, args.head, args.query)
    out = v.to_dict()
    return out if args.json else {**out, "query_index": v.query_index, "max_difference": v.max_difference}


def text_neuron(res):
    i = res["query_index"]
    lines = [f"query token {i}: {res['tokens'][i]}  (softmax vs the model's attention: max gap "
             f"{res['max_difference']:.1e})", f"{'key token':<16} {'q.k/sqrt(d)':>11} {'softmax':>9}"]
    lines += [f"{t:<16} {s:>11.4f} {p:>9.4f}" for t, s, p in zip(res["tokens"], res["scores"], res["probabilities"])]
    return "\n".join(lines)

# ---- context / neighbours / probe (Contextual-embeddings page) ----------------------------


def add_context(sub):
    from ..interpret import contextual

    p = sub.add_parser("context", help="one word in several sentences: cosine similarity and 2-D PCA at every layer")
    p.add_argument("word")
    p.add_argument("sentences", nargs="+", metavar="SENTENCE", help="sentences that use the word ('sense | sentence' "
                   "groups them by sense)")
    p.add_argument("--pooling", choices=contextual.POOLINGS, default=contextual.POOLINGS[0],
                   help="a word split into pieces: average them (default) or take the first")
    p.add_argument("--projection", choices=contextual.PROJECTIONS, default=contextual.PROJECTIONS[0],
                   help="PCA fitted on each layer (default) or on all layers together")
    model_arg(p)
    json_arg(p)


def run_context(args):
    from ..interpret.contextual import analyse, parse_lines, separation_summary

    sentences, senses = parse_lines("\n".join(s.replace("\n", " ") for s in args.sentences))
    res = analyse(load_model(args), args.word, sentences, senses, args.pooling)
    print_notices(res.notices)
    out = res.to_dict(args.projection)
    if args.json:
        return out
    curves = res.sense_curves()
    return {**out, "labels": res.labels(), "summary": separation_summary(res),
            "curves": [c.tolist() for c in curves] if curves else None}


def text_context(res):
    labels = res["labels"]
    lines = [f"'{res['word']}': {len(labels)} occurrences: " + ", ".join(
        f"{lab} ({' '.join(o['pieces'])} at {','.join(map(str, o['positions']))})"
        for lab, o in zip(labels, res["occurrences"]))]
    for row in res["layers"]:
        sim = row["similarity"]
        n = len(sim)
        off = [sim[i][j] for i in range(n) for j in range(i + 1, n)]
        extra = ""
        if res["curves"]:
            extra = f"  same sense {res['curves'][0][row['layer']]:.3f}  different senses {res['curves'][1][row['layer']]:.3f}"
        lines.append(f"layer {row['layer']}: mean cosine between occurrences {sum(off) / len(off):.3f}{extra}")
    if res["summary"]:
        lines.append(res["summary"])
    return "\n".join(lines)


def add_neighbours(sub):
    from ..interpret import contextual
    from ..interpret import neighbours

    p = sub.add_parser("neighbours", help="the corpus word occurrences whose vectors are nearest to WORD as used in SENTENCE")
    p.add_argument("word")
    p.add_argument("sentence")
    p.add_argument("--corpus", default=None, help="a UTF-8 text file, one or more sentences per line "
                   "(default: the shipped corpus, NSP demo + Wikipedia sample)")
    p.add_argument("--layer", type=int, default=None, help="0 = embedding output ... L = last layer (default)")
    p.add_argument("--k", type=int, default=10, help=f"how many neighbours (1 to {neighbours.MAX_K})")
    p.add_argument("--pooling", choices=contextual.POOLINGS, default=contextual.POOLINGS[0])
    p.add_argument("--keep-stop-words", action="store_true", help="also return stop-words and punctuation")
    p.add_argument("--keep-special", action="store_true", help="also return [CLS] and [SEP]")
    model_arg(p)
    json_arg(p)


def run_neighbours(args):
    from ..interpret import neighbours

    corpus = neighbours.read_corpus_file(args.corpus) if args.corpus else neighbours.shipped_corpus()
    index, found = neighbours.nearest(load_model(args), args.word, args.sentence, corpus, args.layer, args.k, args.pooling,
                             not args.keep_stop_words, not args.keep_special)
    out = {"layer": index.layer, "neighbours": [n.to_dict() for n in found]}
    if args.json:
        return out
    return {**out, "corpus": f"{corpus.name}: {len(corpus):,} sentences, {len(index):,} rows, indexed in "
                             f"{index.seconds:.1f} s"}


def text_neighbours(res):
    lines = [res["corpus"], f"layer {res['layer']}"]
    lines += [f"{n['similarity']:.3f}  {n['token']:<14} {n['sentence']}" for n in res["neighbours"]]
    return "\n".join(lines)


def add_probe(sub):
    p = sub.add_parser("probe", help="held-out accuracy of a linear probe on every layer's [CLS] / mean features")
    p.add_argument("--data", default=None, help="labelled CSV/TSV (default: the shipped intents, train/test)")
    p.add_argument("--eval", default=None, help="held-out CSV/TSV (default: hold out 20%% of --data)")
    p.add_argument("--text-col", default=None)
    p.add_argument("--text-pair-col", default=None)
    p.add_argument("--label-col", default=None)
    model_arg(p)
    json_arg(p)


def run_probe(args):
    from .. import datasets
    from ..interpret.probe import run

    if args.data:
        table = datasets.read_file(args.data)
        text, _, label = datasets.guess_columns(table)
        train, held = datasets.train_and_holdout(table, args.text_col or text, args.label_col or label, args.text_pair_col,
                                          datasets.read_file(args.eval) if args.eval else None)
    else:
        train, held = datasets.shipped()
    res = run(load_model(args), train, held)
    print_notices(res.notices)
    out = res.to_dict()
    if args.json:
        return out
    return {**out, "majority": res.majority, "data": f"{res.data}: {res.n_train} train, {res.n_eval} held out, "
                                                      f"{res.n_classes} classes"}


def text_probe(res):
    lines = [res["data"], "layer  [CLS]   mean   (held-out accuracy of a linear probe)"]
    lines += [f"{r['layer']:>5}  {r['cls']:.3f}  {r['mean']:.3f}" for r in res["layers"]]
    lines.append(f"bag-of-words baseline {res['baseline']:.3f} · majority class {res['majority']:.3f}")
    return "\n".join(lines)
