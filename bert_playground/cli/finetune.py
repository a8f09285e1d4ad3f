"""`finetune`, `classify`, `predict`: the Fine-tuning page from the shell."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from ..core.errors import PlaygroundError
from .common import config_defaults, held, json_arg, model_arg, print_notices

# ---- finetune / classify (Fine-tuning page) -----------------------------------------------


def add_finetune(sub):
    from ..finetune import MODES, POOLINGS, TASKS, FinetuneConfig

    d = config_defaults(FinetuneConfig)
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
    model_arg(p)
    json_arg(p)


def _task_data(args, task):
    """(train, held-out, the columns read or None) from --train and --eval, as the task reads its files."""
    from .. import datasets

    if task.kind != "table":
        train = task.read_file(args.train)
        if not args.eval:
            return (*task.split(train), None)
        return train, task.read_file(args.eval, getattr(train, "label_names", None)), None
    table = task.read_file(args.train)
    text, pair, label = datasets.guess_columns(table)
    text, label, pair = args.text_col or text, args.label_col or label, args.text_pair_col or (
        pair if task.name == "pairs" else None)
    if task.name == "pairs" and pair is None:
        raise PlaygroundError(f"--task pairs: '{args.train}' has no second-sentence column; name it with --text-pair-col.")
    train, held = datasets.train_and_holdout(table, text, label, pair, task.read_file(args.eval) if args.eval else None)
    return train, held, {"text": text, "text_pair": pair, "label": label}


def check_save_path(path: str | None) -> None:
    """Refuse an output folder that cannot be written before any work is done (not at the end of a run): an
    existing file, or a folder whose nearest existing parent does not take a new folder (tried, not assumed: the
    permission bits do not stop root, a read-only or virtual file system does)."""
    if not path:
        return
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise PlaygroundError(f"--save '{path}' is an existing file, not a folder: give a new or empty folder.")
    parent = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    try:
        if not parent.is_dir():
            raise OSError
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".write-check-"))
    except OSError:
        raise PlaygroundError(f"--save '{path}': '{parent}' cannot be written; give a folder you can write to.") from None


def run_finetune(args):
    """finetune: JSON with the task's scores (accuracy and macro-F1; entity F1; exact match and F1), all 0-1."""
    from .. import finetune
    from ..core.device import choose_device

    task = finetune.TASKS[args.task]
    check_save_path(args.save)
    device = choose_device(args.device)
    cfg = finetune.validate(_finetune_config(args, device))
    train, held, columns = _task_data(args, task)
    if args.max_train:
        train = train.head(args.max_train)
    bundle = None if args.mode == "baseline" else _load_on(args.model, device)
    result = finetune.run(bundle, train, held, cfg, on_event=_log_event)
    print_notices(result.notices)
    out = result.summary()
    if columns is not None:
        out["columns"] = columns
    if args.save:
        finetune.save(result, args.save, extra={"columns": columns} if columns is not None else None)
        out["saved"] = str(args.save)
    return out


def _finetune_config(args, device):
    from ..finetune import FinetuneConfig

    return FinetuneConfig(mode=args.mode, task=args.task, pooling=args.pooling, layers=args.layers, epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, max_length=args.max_length,
                          max_seconds=args.max_seconds, eval_every=args.eval_every, patience=args.patience,
                          seed=args.seed, device=str(device), stride=args.stride, max_answer=args.max_answer,
                          eval_rows=args.eval_rows)


def _load_on(model, device):
    from ..checkpoints.models import load

    return load(model, device)


def _log_event(ev):
    from .. import finetune

    if isinstance(ev, finetune.Step):
        row = {"event": "step", "step": ev.step, "of": ev.total_steps, "epoch": round(ev.epoch, 3),
               "loss": round(ev.loss, 5), "lr": ev.lr, "examples_per_s": round(ev.examples_per_s, 1),
               "elapsed_s": round(ev.elapsed, 2), "device": ev.device}
    elif isinstance(ev, finetune.Evaluation):  # the scores, without their tables (per type, confusion, per class)
        row = {"event": "eval", "step": ev.step, "epoch": round(ev.epoch, 3),
               **{k: v for k, v in ev.metrics.summary().items() if not isinstance(v, (dict, list))}}
    elif isinstance(ev, finetune.Start):
        row = {"event": "start", "steps": ev.total_steps, "train": ev.n_train, "eval": ev.n_eval,
               "trainable_parameters": ev.trainable, "device": ev.device}
    else:
        return
    print(json.dumps(row), file=sys.stderr, flush=True)


def text_finetune(res):
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


def add_classify(sub):
    p = sub.add_parser("classify", help="classify texts with a folder written by `finetune --save`")
    p.add_argument("--model", required=True, help="the fine-tuned folder")
    p.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify (pair models: 'sentence A<TAB>sentence B')")
    p.add_argument("--input", default=None, help="CSV/TSV with the training text column(s), or a .txt file, one text per line")
    p.add_argument("--device", default=None, help="cpu (default) | cuda")
    json_arg(p)


def run_classify(args):
    from pathlib import Path

    from ..finetune.classifier import METRICS_FILE, load_classifier

    clf = held("classifier", args.model, lambda: load_classifier(args.model, args.device))
    meta_file = Path(args.model) / METRICS_FILE
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    from ..datasets import classify_inputs

    texts, pairs = classify_inputs(args.texts, args.input, clf.pair, meta.get("columns") or {})
    preds = clf.predict(texts, pairs)
    rows = [{"text": texts[i], **({"text_pair": pairs[i]} if pairs else {}), **p.to_dict()} for i, p in enumerate(preds)]
    return {"model": str(args.model), "labels": list(clf.label_names), "predictions": rows}


def text_classify(res):
    return "\n".join(f"{r['label']:<20} {r['score']:.3f}  {r['text']}" + (f"  ||  {r['text_pair']}" if "text_pair" in r else "")
                     for r in res["predictions"])


def add_predict(sub):
    p = sub.add_parser("predict", help="tag a sentence or answer a question with a folder written by "
                                       "`finetune --task tag|qa --save`")
    p.add_argument("--model", required=True, help="the fine-tuned tagger or QA folder")
    p.add_argument("text", nargs="?", default=None, metavar="TEXT", help="tagger: the sentence to tag")
    p.add_argument("--question", default=None, help="QA: the question")
    p.add_argument("--context", default=None, help="QA: the passage")
    p.add_argument("--context-file", default=None, help="QA: a UTF-8 text file holding the passage")
    p.add_argument("--device", default=None, help="cpu (default) | cuda")
    json_arg(p)


def run_predict(args):
    from pathlib import Path

    from ..finetune import Tagger, load_predictor

    model = held("predictor", args.model, lambda: load_predictor(args.model, args.device))
    if isinstance(model, Tagger):
        if not args.text:
            raise PlaygroundError("This is a tagger: give the sentence to tag as TEXT.")
        return model.predict(args.text).to_dict()
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
    return model.predict(args.question, context).to_dict()


def text_predict(res):
    if "entities" in res:
        ents = "; ".join(f"{e['text']} [{e['label']} {e['probability']:.2f}]" for e in res["entities"]) or "(no entities)"
        return " ".join(f"{t}/{y}" for t, y in zip(res["tokens"], res["labels"])) + "\nentities: " + ents
    return f"answer: {res['answer']!r} (characters {res['start']}-{res['end']}, probability {res['probability']:.3f}, " \
           f"window {res['window']})"
