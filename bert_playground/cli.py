"""`python -m bert_playground <command> ... [--model M] [--json]`.

The table `COMMANDS` (at the end) names every command's three functions: `_add_<name>(sub)`
declares its arguments, `_run_<name>(args)` returns a JSON-able dict, `_text_<name>(result)`
prints it for a reader (None: indented JSON); --json prints the dict as JSON. Defaults and
choices come from the package (config dataclasses, `pretrain.PRECISIONS`, `pretrain.SAVE_DTYPES`,
`finetune.MODES`). Results carry their `notices`; the CLI prints them on stderr as `note: ...`.
Errors become one line on stderr and a non-zero exit: 2 for bad input, 1 for anything unexpected.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Callable, NamedTuple

from .core.errors import PlaygroundError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        print(f"error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _model_arg(p, required=False):
    p.add_argument("--model", default=None, required=required,
                   help="'embedded' (default, or $BERT_PLAYGROUND_MODEL), a local folder, or a Hub id")


def _json_arg(p):
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _defaults(config_class) -> dict:
    """{field: default} of a config dataclass, so argparse never restates a default."""
    return {f.name: f.default for f in dataclasses.fields(config_class) if f.default is not dataclasses.MISSING}


def _notices(notices) -> None:
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)


def _load(args):
    from .checkpoints.models import load

    return load(args.model)


# ---- represent ----------------------------------------------------------------------------

def _add_represent(sub):
    p = sub.add_parser("represent", help="WordPiece tokens, token ids, segments and positions of a text or pair")
    p.add_argument("sent_a")
    p.add_argument("sent_b", nargs="?", default=None)
    _model_arg(p)
    _json_arg(p)


def _run_represent(args):
    from .inputs.representation import represent

    rep = represent(_load(args), args.sent_a, args.sent_b)
    _notices(rep.notices)
    out = {"model": rep.model, "rows": rep.rows()}
    if rep.encoding.truncated:
        out["truncated_from"] = rep.encoding.full_length
    return out


def _text_represent(res):
    lines = [f"model: {res['model']}", f"{'index':>5}  {'token':<18} {'id':>6}  seg  pos"]
    lines += [f"{r['index']:>5}  {r['token']:<18} {r['token_id']:>6}  {r['segment']:>3}  {r['position']:>3}" for r in res["rows"]]
    return "\n".join(lines)


# ---- pretrain -----------------------------------------------------------------------------

def _add_pretrain(sub):
    from .pretraining.pretrain import PRECISIONS, SAVE_DTYPES, PretrainConfig

    d = _defaults(PretrainConfig)
    p = sub.add_parser("pretrain", help="pre-train BertForPreTraining on MLM + NSP from WikiExtractor text")
    p.add_argument("--corpus", required=True, help="glob(s), comma-separated, of WikiExtractor files (.xz allowed)")
    p.add_argument("--out", required=True, help="output checkpoint folder (resumed from if it holds one and --resume)")
    p.add_argument("--init", default=d["init"], help="minilm | scratch | PATH of a checkpoint folder")
    p.add_argument("--config", dest="preset", metavar="CONFIG", default=d["preset"],
                   help="for --init scratch: tiny | mini | minilm | a config.json path")
    p.add_argument("--eval-corpus", default=d["eval_corpus"],
                   help="held-out glob; default: the corpus's last --eval-docs documents")
    p.add_argument("--eval-docs", type=int, default=d["eval_docs"])
    p.add_argument("--eval-pairs", type=int, default=d["eval_pairs"])
    p.add_argument("--max-seconds", type=float, default=d["max_seconds"])
    p.add_argument("--max-steps", type=int, default=d["max_steps"])
    p.add_argument("--max-docs", type=int, default=d["max_docs"], help="use only the first N training documents")
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--seq-len", type=int, default=d["seq_len"])
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--warmup-steps", type=int, default=d["warmup_steps"])
    p.add_argument("--train-layers", type=int, default=d["train_layers"],
                   help="train only the top K encoder layers + heads")
    p.add_argument("--eval-every", type=int, default=d["eval_every"])
    p.add_argument("--log-every", type=int, default=d["log_every"])
    p.add_argument("--short-seq-prob", type=float, default=d["short_seq_prob"],
                   help="share of pairs given a shorter random length")
    p.add_argument("--sentence-pair-prob", type=float, default=d["sentence_pair_prob"],
                   help="share of pairs made of one sentence A and one sentence B (short everyday pairs)")
    p.add_argument("--group-by-length", action="store_true",
                   help="batch pairs of similar length and trim their padding (faster with short pairs)")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--save-dtype", choices=SAVE_DTYPES, default=d["save_dtype"])
    p.add_argument("--device", default=d["device"], help="auto | cpu | cuda")
    p.add_argument("--precision", choices=PRECISIONS, default=d["precision"],
                   help="auto: bf16 autocast on CUDA, float32 on CPU; bf16 also speeds up CPUs with AVX512-BF16/AMX")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    _json_arg(p)


def _run_pretrain(args):
    from .pretraining.pretrain import PretrainConfig, pretrain

    names = {f.name for f in dataclasses.fields(PretrainConfig)}
    cfg = PretrainConfig(**{k: v for k, v in vars(args).items() if k in names})  # every option is a config field
    return pretrain(cfg, resume=args.resume)


# ---- mask / fill (Masked-LM page) ---------------------------------------------------------

def _add_mask(sub):
    from .objectives.masking import MaskingConfig

    d = _defaults(MaskingConfig)
    p = sub.add_parser("mask", help="BERT's 80/10/10 masking of a text (model-free: only the tokenizer is read)")
    p.add_argument("text")
    p.add_argument("--rate", type=float, default=d["rate"], help=f"share of tokens chosen (0 to 1, default {d['rate']})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--whole-word", action="store_true", help="choose all pieces of a word together")
    _model_arg(p)
    _json_arg(p)


def _run_mask(args):
    from .objectives.masking import MaskingConfig, mask_text
    from .objectives.mlm import load_tokenizer

    masked = mask_text(load_tokenizer(args.model), args.text, MaskingConfig(rate=args.rate, whole_word=args.whole_word),
                       seed=args.seed)
    _notices(masked.notices)
    return {"tokens": masked.rows()}


def _text_mask(res):
    lines = [f"{'pos':>4}  {'original':<16} {'input':<16} {'label':<16} action"]
    lines += [f"{r['position']:>4}  {r['original']:<16} {r['input']:<16} {r['label'] or '-':<16} {r['action'] or '-'}"
              for r in res["tokens"]]
    return "\n".join(lines)


def _add_fill(sub):
    p = sub.add_parser("fill", help="the MLM head's top-k guesses at every [MASK] of a text (several --model: side by side)")
    p.add_argument("text")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--model", action="append", default=None,
                   help="'embedded' (default, or $BERT_PLAYGROUND_MODEL), a local folder, or a Hub id; "
                        "repeat it to compare checkpoints on the same text")
    from .objectives.decoding import ORDERS

    p.add_argument("--joint", action="store_true", help="also fill the masks jointly, one at a time (adds 'joint')")
    p.add_argument("--order", choices=ORDERS, default=ORDERS[0],
                   help="joint decoding order: most-confident-first (default) or left to right")
    p.add_argument("--candidates", default=None, metavar="W1,W2",
                   help="score these words at the first mask by pseudo-log-likelihood (adds 'candidates')")
    _json_arg(p)


def _run_fill(args):
    from .objectives.mlm import fill
    from .checkpoints.models import load

    names = args.model or [None]
    results = []
    for name in names:
        bundle = load(name)
        res = fill(bundle, args.text, args.top_k)
        _notices(res.notices)
        out = res.to_json()  # exactly the documented fields with --json
        _fill_extras(args, out, bundle)
        results.append(out if args.json else {**out, "filled": res.filled})
    return results[0] if len(results) == 1 else {"models": results}


def _text_fill(res):
    lines = []
    for one in res.get("models", [res]):
        lines += [f"model: {one['model']}", f"filled: {one['filled']}"]
        for m in one["masks"]:
            guesses = ", ".join(f"{p['token']} {p['probability']:.3f}" for p in m["predictions"])
            lines.append(f"mask at {m['position']}: {guesses}")
        lines += _text_fill_extras(one)
    return "\n".join(lines)


# ---- nsp (Next-sentence-prediction page) --------------------------------------------------

def _add_nsp(sub):
    p = sub.add_parser("nsp", help="the pair head's probability for two sentences: BERT's NSP (IsNext), ALBERT's SOP (in order)")
    p.add_argument("sent_a")
    p.add_argument("sent_b")
    _model_arg(p)
    _json_arg(p)


def _run_nsp(args):
    from .objectives.nsp import score_text

    s = score_text(_load(args), args.sent_a, args.sent_b)
    _notices(s.packed.notices)
    if s.task == "sop":  # ALBERT: sentence-order prediction (A then B in the original order?)
        return {"task": "sop", "model": s.model, "in_order_probability": s.is_next_probability,
                "tokens": s.packed.tokens, "segments": s.packed.segments}
    return {"model": s.model, "is_next_probability": s.is_next_probability,
            "tokens": s.packed.tokens, "segments": s.packed.segments}


def _text_nsp(res):
    if res.get("task") == "sop":
        p, what = res["in_order_probability"], ("P(in order)", "InOrder", "Swapped")
    else:
        p, what = res["is_next_probability"], ("P(IsNext)", "IsNext", "NotNext")
    return (f"model: {res['model']}\n{what[0]} = {p:.4f}  ->  {what[1] if p >= 0.5 else what[2]}\n"
            + " ".join(f"{t}/{s}" for t, s in zip(res["tokens"], res["segments"])))


# ---- attention (Attention page) -----------------------------------------------------------

def _add_attention(sub):
    p = sub.add_parser("attention", help="every attention map (layers x heads x T x T) of a text or pair")
    p.add_argument("sent_a")
    p.add_argument("sent_b", nargs="?", default=None)
    p.add_argument("--causal", action="store_true", help="run with a left-to-right mask (for comparison)")
    _model_arg(p)
    _json_arg(p)


def _run_attention(args):
    import numpy as np

    from .interpret.attention import compute, head_stats

    maps = compute(_load(args), args.sent_a, args.sent_b, causal=args.causal)
    _notices(maps.notices)
    out = {"model": maps.model, "tokens": list(maps.tokens), "sentence_b_start": maps.sentence_b_start,
           # weights rounded to 8 decimals (float32 carries ~7): rows still sum to 1 within 1e-5
           "attentions": np.round(maps.attentions.astype(np.float64), 8).tolist()}
    if args.json:
        return out
    s = head_stats(maps)
    rows = [[float(v.mean()) for v in (s.to_cls[i], s.to_sep[i], s.to_self[i], s.entropy[i])] for i in range(maps.layers)]
    return {**out, "shape": list(maps.attentions.shape), "per_layer": rows}


def _text_attention(res):
    n_layers, n_heads, t, _ = res["shape"]
    b = res["sentence_b_start"]
    lines = [f"model: {res['model']}", " ".join(res["tokens"]),
             f"attentions: {n_layers} layers x {n_heads} heads x {t} x {t} tokens" + (f"; sentence B starts at {b}" if b else ""),
             "layer  to [CLS]  to [SEP]  to self  entropy (bits, mean over heads; --json for every weight)"]
    lines += [f"{i + 1:>5}  {c:>8.3f}  {s:>8.3f}  {d:>7.3f}  {e:>7.2f}" for i, (c, s, d, e) in enumerate(res["per_layer"])]
    return "\n".join(lines)


# ---- finetune / classify (Fine-tuning page) -----------------------------------------------

def _add_finetune(sub):
    from .finetune import MODES, POOLINGS, TASKS, FinetuneConfig

    d = _defaults(FinetuneConfig)
    p = sub.add_parser("finetune", help="fine-tune a classifier, tagger or QA model on labelled data (progress on stderr)")
    p.add_argument("--task", choices=TASKS, default=d["task"],
                   help="classify: CSV/TSV texts | pairs: CSV/TSV sentence pairs | tag: CoNLL files (a BIO tag per "
                        "word) | qa: SQuAD-format JSON")
    p.add_argument("--train", required=True, help="CSV/TSV with a header row (classify, pairs), CoNLL (tag), JSON (qa)")
    p.add_argument("--eval", default=None, help="held-out file of the same kind (default: hold out 20%% of --train; "
                                                "qa: the last 20%% of its articles)")
    p.add_argument("--max-train", type=int, default=None, help="use only the first N training rows (qa: questions)")
    p.add_argument("--text-col", default=None, help="text column (default: guessed, e.g. 'text' or 'sentence')")
    p.add_argument("--text-pair-col", default=None, help="second-sentence column for sentence-pair tasks")
    p.add_argument("--label-col", default=None, help="label column (default: guessed, e.g. 'label')")
    p.add_argument("--mode", choices=MODES, default=d["mode"], help="full | frozen | random (fresh weights) | baseline "
                                                                    "(bag of words; classify and pairs only)")
    p.add_argument("--pooling", choices=POOLINGS, default=d["pooling"], help="classify/pairs: [CLS] or mean token vector")
    p.add_argument("--stride", type=int, default=d["stride"], help="qa: tokens shared by consecutive passage windows")
    p.add_argument("--max-answer", type=int, default=d["max_answer"], help="qa: longest answer in tokens")
    p.add_argument("--layers", type=int, default=d["layers"], help="keep only the first K encoder layers (default: all)")
    p.add_argument("--epochs", type=int, default=d["epochs"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--lr", type=float, default=d["lr"], help="default: 5e-4 full, 2e-3 frozen, 0.1 baseline")
    p.add_argument("--max-length", type=int, default=d["max_length"], help="tokens per example")
    p.add_argument("--max-seconds", type=float, default=d["max_seconds"], help="stop training after this wall time")
    p.add_argument("--eval-every", type=int, default=d["eval_every"], help="steps between evaluations")
    p.add_argument("--eval-rows", type=int, default=d["eval_rows"],
                   help="held-out rows scored per evaluation (a larger held-out set is sampled, and said so)")
    p.add_argument("--patience", type=int, default=d["patience"],
                   help="early stopping after N evaluations without progress")
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--device", default=d["device"], help="auto | cpu | cuda")
    p.add_argument("--save", default=None, help="write the fine-tuned checkpoint folder here")
    _model_arg(p)
    _json_arg(p)


def _task_data(args):
    """(train, held-out) for --task tag (CoNLL) or qa (SQuAD JSON)."""
    from .data import datasets as D

    if args.task == "tag":
        train = D.read_conll_file(args.train)
        train, held = (train, D.read_conll_file(args.eval, train.label_names)) if args.eval else D.split_tagged(train)
        return (train.subset(list(range(min(args.max_train, len(train))))) if args.max_train else train), held
    train = D.read_squad_file(args.train)
    train, held = (train, D.read_squad_file(args.eval)) if args.eval else D.split_articles(train)
    return (train.head(args.max_train) if args.max_train else train), held


def _run_finetune(args):
    from .data import datasets as D
    from . import finetune as F
    from .core.device import choose_device

    if args.task in ("tag", "qa"):
        return _run_span_task(args)
    table = D.read_file(args.train)
    text, _, label = D.guess_columns(table)
    text, label, pair = args.text_col or text, args.label_col or label, args.text_pair_col
    if args.task == "pairs" and not pair:
        pair = D.guess_columns(table)[1]
        if pair is None:
            raise PlaygroundError(f"--task pairs: '{args.train}' has no second-sentence column; name it with --text-pair-col.")
    train, held = D.train_and_holdout(table, text, label, pair, D.read_file(args.eval) if args.eval else None)
    if args.max_train:
        train = train.subset(list(range(min(args.max_train, len(train)))))
    device = choose_device(args.device)
    cfg = _finetune_config(args, device)
    F.validate(cfg)
    bundle = None if args.mode == "baseline" else _load_on(args.model, device)
    result = F.run(bundle, train, held, cfg, on_event=_log_event)
    _notices(result.notices)
    out = result.summary()
    out["columns"] = {"text": text, "text_pair": pair, "label": label}
    if args.save:
        F.save(result, args.save, extra={"columns": out["columns"]})
        out["saved"] = str(args.save)
    return out


def _finetune_config(args, device):
    from .finetune import FinetuneConfig

    return FinetuneConfig(mode=args.mode, task=args.task, pooling=args.pooling, layers=args.layers, epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, max_length=args.max_length,
                          max_seconds=args.max_seconds, eval_every=args.eval_every, patience=args.patience,
                          seed=args.seed, device=str(device), stride=args.stride, max_answer=args.max_answer,
                          eval_rows=args.eval_rows)


def _run_span_task(args):
    """finetune --task tag|qa: JSON with entity_f1, precision, recall (tag) or exact_match, f1 (qa), all 0-1."""
    from . import finetune as F
    from .core.device import choose_device

    device = choose_device(args.device)
    cfg = F.validate(_finetune_config(args, device))
    train, held = _task_data(args)
    result = F.run(_load_on(args.model, device), train, held, cfg, on_event=_log_event)
    out = result.summary()
    if args.save:
        F.save(result, args.save)
        out["saved"] = str(args.save)
    return out


def _load_on(model, device):
    from .checkpoints.models import load

    return load(model, device)


def _log_event(ev):
    from . import finetune as F

    if isinstance(ev, F.Step):
        row = {"event": "step", "step": ev.step, "of": ev.total_steps, "epoch": round(ev.epoch, 3),
               "loss": round(ev.loss, 5), "lr": ev.lr, "examples_per_s": round(ev.examples_per_s, 1),
               "elapsed_s": round(ev.elapsed, 2), "device": ev.device}
    elif isinstance(ev, F.Evaluation) and not isinstance(ev.metrics, F.Metrics):  # tagging, QA
        row = {"event": "eval", "step": ev.step, "epoch": round(ev.epoch, 3),
               **{k: v for k, v in ev.metrics.summary().items() if k != "per_type"}}
    elif isinstance(ev, F.Evaluation):
        row = {"event": "eval", "step": ev.step, "epoch": round(ev.epoch, 3), "accuracy": ev.metrics.accuracy,
               "macro_f1": ev.metrics.macro_f1, "loss": ev.metrics.loss}
    elif isinstance(ev, F.Start):
        row = {"event": "start", "steps": ev.total_steps, "train": ev.n_train, "eval": ev.n_eval,
               "trainable_parameters": ev.trainable, "device": ev.device}
    else:
        return
    print(json.dumps(row), file=sys.stderr, flush=True)


def _text_finetune(res):
    score = {"tag": lambda r: f"entity F1 {r['entity_f1']:.4f} · precision {r['precision']:.4f} · recall {r['recall']:.4f}",
             "qa": lambda r: f"exact match {r['exact_match']:.4f} · F1 {r['f1']:.4f}"}.get(
        res.get("task"), lambda r: f"accuracy {r['accuracy']:.4f} · macro-F1 {r['macro_f1']:.4f}")
    lines = [f"{res['mode']} · layers {res['layers'] or '-'} · {res['steps']} steps in {res['seconds']} s "
             f"({res['examples_per_s']} examples/s, {res['device']})"
             + (f" · {res['stopped']}" if res["stopped"] else ""),
             f"{score(res)} on {res['n_eval']} held-out examples"]
    if res.get("saved"):
        lines.append(f"saved to {res['saved']}")
    return "\n".join(lines)


def _add_classify(sub):
    p = sub.add_parser("classify", help="classify texts with a folder written by `finetune --save`")
    p.add_argument("--model", required=True, help="the fine-tuned folder")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify (pair models: 'sentence A<TAB>sentence B')")
    p.add_argument("--input", default=None, help="CSV/TSV with the training text column(s), or a .txt file, one text per line")
    p.add_argument("--device", default=None, help="cpu (default) | cuda")
    _json_arg(p)


def _run_classify(args):
    from pathlib import Path

    from .finetune.classifier import METRICS_FILE, load_classifier

    clf = load_classifier(args.model, args.device)
    meta_file = Path(args.model) / METRICS_FILE
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    from .data.datasets import classify_inputs

    texts, pairs = classify_inputs(args.texts, args.input, clf.pair, meta.get("columns") or {})
    preds = clf.predict(texts, pairs)
    rows = []
    for i, p in enumerate(preds):
        row = {"text": texts[i], **({"text_pair": pairs[i]} if pairs else {}), "label": p.label,
               "score": round(p.score, 6), "probabilities": {k: round(v, 6) for k, v in p.probabilities.items()}}
        rows.append(row)
    return {"model": str(args.model), "labels": list(clf.label_names), "predictions": rows}


def _text_classify(res):
    return "\n".join(f"{r['label']:<20} {r['score']:.3f}  {r['text']}" + (f"  ||  {r['text_pair']}" if "text_pair" in r else "")
                     for r in res["predictions"])


# ---- context / neighbours / probe (Contextual-embeddings page) ----------------------------

def _add_context(sub):
    from .interpret import contextual as C

    p = sub.add_parser("context", help="one word in several sentences: cosine similarity and 2-D PCA at every layer")
    p.add_argument("word")
    p.add_argument("sentences", nargs="+", metavar="SENTENCE", help="sentences that use the word ('sense | sentence' "
                   "groups them by sense)")
    p.add_argument("--pooling", choices=C.POOLINGS, default=C.POOLINGS[0],
                   help="a word split into pieces: average them (default) or take the first")
    p.add_argument("--projection", choices=C.PROJECTIONS, default=C.PROJECTIONS[0],
                   help="PCA fitted on each layer (default) or on all layers together")
    _model_arg(p)
    _json_arg(p)


def _run_context(args):
    from .interpret.contextual import analyse, parse_lines, separation_summary

    sentences, senses = parse_lines("\n".join(s.replace("\n", " ") for s in args.sentences))
    res = analyse(_load(args), args.word, sentences, senses, args.pooling)
    _notices(res.notices)
    out = res.to_json(args.projection)
    if args.json:
        return out
    curves = res.sense_curves()
    return {**out, "labels": res.labels(), "summary": separation_summary(res),
            "curves": [c.tolist() for c in curves] if curves else None}


def _text_context(res):
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


def _add_neighbours(sub):
    from .interpret import contextual as C
    from .interpret import neighbours as N

    p = sub.add_parser("neighbours", help="the corpus word occurrences whose vectors are nearest to WORD as used in SENTENCE")
    p.add_argument("word")
    p.add_argument("sentence")
    p.add_argument("--corpus", default=None, help="a UTF-8 text file, one or more sentences per line "
                   "(default: the shipped corpus, NSP demo + Wikipedia sample)")
    p.add_argument("--layer", type=int, default=None, help="0 = embedding output ... L = last layer (default)")
    p.add_argument("--k", type=int, default=10, help=f"how many neighbours (1 to {N.MAX_K})")
    p.add_argument("--pooling", choices=C.POOLINGS, default=C.POOLINGS[0])
    p.add_argument("--keep-stop-words", action="store_true", help="also return stop-words and punctuation")
    p.add_argument("--keep-special", action="store_true", help="also return [CLS] and [SEP]")
    _model_arg(p)
    _json_arg(p)


def _run_neighbours(args):
    from .interpret import neighbours as N

    corpus = N.read_corpus_file(args.corpus) if args.corpus else N.shipped_corpus()
    index, found = N.nearest(_load(args), args.word, args.sentence, corpus, args.layer, args.k, args.pooling,
                             not args.keep_stop_words, not args.keep_special)
    out = {"layer": index.layer, "neighbours": [n.to_json() for n in found]}
    if args.json:
        return out
    return {**out, "corpus": f"{corpus.name}: {len(corpus):,} sentences, {len(index):,} rows, indexed in "
                             f"{index.seconds:.1f} s"}


def _text_neighbours(res):
    lines = [res["corpus"], f"layer {res['layer']}"]
    lines += [f"{n['similarity']:.3f}  {n['token']:<14} {n['sentence']}" for n in res["neighbours"]]
    return "\n".join(lines)


def _add_probe(sub):
    p = sub.add_parser("probe", help="held-out accuracy of a linear probe on every layer's [CLS] / mean features")
    p.add_argument("--data", default=None, help="labelled CSV/TSV (default: the shipped intents, train/test)")
    p.add_argument("--eval", default=None, help="held-out CSV/TSV (default: hold out 20%% of --data)")
    p.add_argument("--text-col", default=None)
    p.add_argument("--text-pair-col", default=None)
    p.add_argument("--label-col", default=None)
    _model_arg(p)
    _json_arg(p)


def _run_probe(args):
    from .data import datasets as D
    from .interpret.probe import run

    if args.data:
        table = D.read_file(args.data)
        text, _, label = D.guess_columns(table)
        train, held = D.train_and_holdout(table, args.text_col or text, args.label_col or label, args.text_pair_col,
                                          D.read_file(args.eval) if args.eval else None)
    else:
        train, held = D.shipped()
    res = run(_load(args), train, held)
    _notices(res.notices)
    out = res.to_json()
    if args.json:
        return out
    return {**out, "majority": res.majority, "data": f"{res.data}: {res.n_train} train, {res.n_eval} held out, "
                                                      f"{res.n_classes} classes"}


def _text_probe(res):
    lines = [res["data"], "layer  [CLS]   mean   (held-out accuracy of a linear probe)"]
    lines += [f"{r['layer']:>5}  {r['cls']:.3f}  {r['mean']:.3f}" for r in res["layers"]]
    lines.append(f"bag-of-words baseline {res['baseline']:.3f} · majority class {res['majority']:.3f}")
    return "\n".join(lines)


# ---- attribute / neuron / sides, and fill's extras (Explanations page, Masked-LM page) ---------

def _fill_extras(args, out, bundle):
    """`fill --joint` adds 'joint', `fill --candidates` adds 'candidates'; plain `fill` is unchanged."""
    if not (args.joint or args.candidates is not None):
        return
    from .objectives.decoding import joint_fill, score_candidates

    if args.joint:
        out["joint"] = joint_fill(bundle, args.text, args.order).to_json()
    if args.candidates is not None:
        out["candidates"] = [c.to_json() for c in score_candidates(bundle, args.text, args.candidates)]


def _text_fill_extras(res):
    lines = []
    if "joint" in res:
        j = res["joint"]
        lines.append(f"joint: {j['filled']}  (filled in the order of positions {', '.join(map(str, j['order']))})")
    for c in res.get("candidates", []):
        lines.append(f"candidate {c['word']:<16} PLL {c['pll']:8.3f}  pieces: {' '.join(c['pieces'])}")
    return lines


def _add_attribute(sub):
    from .interpret import attribution as A

    p = sub.add_parser("attribute", help="why the model said that: attention, rollout, gradient x input and "
                                         "integrated gradients for one prediction, and a deletion test")
    p.add_argument("text")
    p.add_argument("text_b", nargs="?", default=None)
    p.add_argument("--target", choices=A.CLI_TARGETS, default=A.CLI_TARGETS[0],
                   help="mask: the top guess at the first [MASK] (default); nsp: the IsNext/NotNext decision")
    p.add_argument("--steps", type=int, default=A.DEFAULT_STEPS,
                   help=f"integrated-gradients steps (default {A.DEFAULT_STEPS}, at most {A.MAX_STEPS})")
    p.add_argument("--baseline", choices=A.BASELINES, default=A.DEFAULT_BASELINE,
                   help="what IG starts from: every token as [MASK] (default), [PAD], or a zero embedding")
    p.add_argument("--layer", type=int, default=None, help="raw attention: layer, 0-based (default: the last)")
    p.add_argument("--head", type=int, default=None, help="raw attention: head, 0-based (default: mean over heads)")
    p.add_argument("--k", type=int, default=10, help="deletion test: remove up to K tokens (default 10)")
    _model_arg(p)
    _json_arg(p)


def _run_attribute(args):
    from .interpret import attribution as A

    bundle = _load(args)
    if args.target == "nsp":
        if args.text_b is None:
            raise PlaygroundError("--target nsp needs two sentences: TEXT and TEXT_B.")
        target = A.nsp_target(bundle, args.text, args.text_b)
    else:
        target = A.mask_target(bundle, args.text, args.text_b)
    e = A.explain(target, args.baseline, args.steps, args.layer, args.head, args.k)
    _notices(e.notices)
    out = e.to_json()
    if args.json:
        return out
    return {**out, "baseline_probability": e.ig.baseline_probability, "areas": e.deletion.areas,
            "candidates": target.candidates}


def _text_attribute(res):
    lines = [f"{res['target']}: {res['prediction']} (p = {res['probability']:.4f}); IG delta {res['ig_delta']:.2g}",
             f"{'token':<16} {'attention':>9} {'rollout':>9} {'grad*in':>9} {'IG':>9}"]
    s = res["scores"]
    for i, t in enumerate(res["tokens"]):
        lines.append(f"{t:<16} {s['attention'][i]:>9.4f} {s['rollout'][i]:>9.4f} {s['grad_x_input'][i]:>9.4f} "
                     f"{s['integrated_gradients'][i]:>9.4f}")
    lines.append("deletion test, area under the curve (lower = falls faster): "
                 + ", ".join(f"{m} {v:.4f}" for m, v in res["areas"].items()))
    return "\n".join(lines)


def _add_neuron(sub):
    p = sub.add_parser("neuron", help="the neuron view: query, keys, q*k, scores and softmax of one head")
    p.add_argument("text")
    p.add_argument("--layer", type=int, required=True, help="0-based")
    p.add_argument("--head", type=int, required=True, help="0-based")
    p.add_argument("--query", type=int, required=True, help="0-based index into the tokens ([CLS] is 0)")
    _model_arg(p)
    _json_arg(p)


def _run_neuron(args):
    from .interpret.neuron import neuron_view

    v = neuron_view(_load(args), args.text, args.layer, args.head, args.query)
    out = v.to_json()
    return out if args.json else {**out, "query_index": v.query_index, "max_difference": v.max_difference}


def _text_neuron(res):
    i = res["query_index"]
    lines = [f"query token {i}: {res['tokens'][i]}  (softmax vs the model's attention: max gap "
             f"{res['max_difference']:.1e})", f"{'key token':<16} {'q.k/sqrt(d)':>11} {'softmax':>9}"]
    lines += [f"{t:<16} {s:>11.4f} {p:>9.4f}" for t, s, p in zip(res["tokens"], res["scores"], res["probabilities"])]
    return "\n".join(lines)


def _add_sides(sub):
    p = sub.add_parser("sides", help="predictions at the first [MASK] with both sides, only the left, only the right")
    p.add_argument("text")
    p.add_argument("--top-k", type=int, default=5)
    _model_arg(p)
    _json_arg(p)


def _run_sides(args):
    from .objectives.decoding import sides

    return sides(_load(args), args.text, args.top_k).to_json()


def _text_sides(res):
    lines = ["the other side is removed, not masked"]
    for side in ("both", "left", "right"):
        lines.append(f"{side:<6} " + ", ".join(f"{p['token']} {p['probability']:.3f}" for p in res[side]))
    return "\n".join(lines)
def _add_predict(sub):
    p = sub.add_parser("predict", help="tag a sentence or answer a question with a folder written by "
                                       "`finetune --task tag|qa --save`")
    p.add_argument("--model", required=True, help="the fine-tuned tagger or QA folder")
    p.add_argument("text", nargs="?", default=None, metavar="TEXT", help="tagger: the sentence to tag")
    p.add_argument("--question", default=None, help="QA: the question")
    p.add_argument("--context", default=None, help="QA: the passage")
    p.add_argument("--context-file", default=None, help="QA: a UTF-8 text file holding the passage")
    p.add_argument("--device", default=None, help="cpu (default) | cuda")
    _json_arg(p)


def _run_predict(args):
    from pathlib import Path

    from .finetune import Tagger, load_predictor

    model = load_predictor(args.model, args.device)
    if isinstance(model, Tagger):
        if not args.text:
            raise PlaygroundError("This is a tagger: give the sentence to tag as TEXT.")
        return model.predict(args.text).to_json()
    context = args.context
    if args.context_file:
        f = Path(args.context_file)
        if not f.is_file():
            raise PlaygroundError(f"'{f}' does not exist or is not a file.")
        try:
            context = f.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise PlaygroundError(f"'{f}' is not UTF-8 text.") from None
    if not args.question or not context:
        raise PlaygroundError("This is a QA model: give --question and --context (or --context-file).")
    return model.predict(args.question, context).to_json()


def _text_predict(res):
    if "entities" in res:
        ents = "; ".join(f"{e['text']} [{e['label']} {e['probability']:.2f}]" for e in res["entities"]) or "(no entities)"
        return " ".join(f"{t}/{y}" for t, y in zip(res["tokens"], res["labels"])) + "\nentities: " + ents
    return f"answer: {res['answer']!r} (characters {res['start']}-{res['end']}, probability {res['probability']:.3f}, " \
           f"window {res['window']})"


# ---- main ---------------------------------------------------------------------------------

class Command(NamedTuple):
    add: Callable  # (subparsers) -> None: declares the arguments
    run: Callable  # (args) -> dict: the JSON-able result
    text: Callable | None  # (result) -> str for a reader; None: indented JSON


COMMANDS = {
    "represent": Command(_add_represent, _run_represent, _text_represent),
    "pretrain": Command(_add_pretrain, _run_pretrain, None),
    "mask": Command(_add_mask, _run_mask, _text_mask),
    "fill": Command(_add_fill, _run_fill, _text_fill),
    "nsp": Command(_add_nsp, _run_nsp, _text_nsp),
    "attention": Command(_add_attention, _run_attention, _text_attention),
    "finetune": Command(_add_finetune, _run_finetune, _text_finetune),
    "classify": Command(_add_classify, _run_classify, _text_classify),
    "context": Command(_add_context, _run_context, _text_context),
    "neighbours": Command(_add_neighbours, _run_neighbours, _text_neighbours),
    "probe": Command(_add_probe, _run_probe, _text_probe),
    "attribute": Command(_add_attribute, _run_attribute, _text_attribute),
    "neuron": Command(_add_neuron, _run_neuron, _text_neuron),
    "sides": Command(_add_sides, _run_sides, _text_sides),
    "predict": Command(_add_predict, _run_predict, _text_predict),
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bert_playground", description="Look inside BERT from the command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS.values():
        command.add(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import transformers

        transformers.logging.set_verbosity_error()
        command = COMMANDS[args.command]
        result = command.run(args)
    except PlaygroundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for a user
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
    if result is None:  # a torchrun rank other than 0: rank 0 prints the result
        return 0
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(command.text(result) if command.text else json.dumps(result, indent=1, ensure_ascii=False))
    return 0
