"""Fine-tuning for sequence classification, as a loop that reports its progress as it goes.

Three modes on the same data and the same loop:
  full      every weight of a copy of the checkpoint's encoder (first `layers` layers) + a new head trains;
  frozen    the encoder is frozen, its [CLS] vectors are computed once, and only the head (BERT's
            pooler dense+tanh, then a linear classifier) trains on them;
  baseline  no BERT at all: bag-of-words logistic regression (`bow.py`), for comparison.
The cached Bundle is never touched: the classifier is a new `BertForSequenceClassification` built from
a copy of the encoder's config, into which the encoder weights are copied. `train()` validates, then
returns a generator of events (Start, Prepare, Step, Evaluation, Done) that the UI draws live; it
honours a stop flag (threading.Event), a time limit and early stopping, and uses bf16 autocast on CUDA.
"""
from __future__ import annotations

import copy
import gc
import json
import math
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, BertForSequenceClassification

from .bow import BowClassifier, build_vocab
from .classifier import (Classifier, Metrics, autocast, batch, bert_logits, bow_logits, by_length,
                         classification_metrics, encode, save_classifier)
from .classifier import METRICS_FILE, Prediction, load_classifier  # noqa: F401  (re-exported for callers)
from .datasets import LabelledData
from .device import choose_device, configure_cpu_threads, describe
from .errors import PlaygroundError

MODES = ("full", "frozen", "baseline")
MODE_LABELS = {"full": "Full fine-tuning", "frozen": "Frozen encoder (head only)", "baseline": "Bag-of-words baseline"}
DEFAULT_LR = {"full": 5e-4, "frozen": 2e-3, "baseline": 0.1}
LIMITS = {  # (low, high), inclusive: the page's widgets use the same bounds
    "epochs": (1, 50), "batch_size": (1, 512), "lr": (1e-6, 1.0), "max_length": (8, 512),
    "max_seconds": (1.0, 24 * 3600.0), "eval_every": (1, 1_000_000), "patience": (1, 100),
    "warmup": (0.0, 0.5), "weight_decay": (0.0, 1.0),
}


@dataclass(frozen=True)
class FinetuneConfig:
    mode: str = "full"  # 'full' | 'frozen' | 'baseline'
    layers: int | None = None  # keep only the first k encoder layers ("tiny" BERT); None: all of them
    epochs: int = 3
    batch_size: int = 16
    lr: float | None = None  # None: DEFAULT_LR[mode]
    max_length: int = 128  # tokens per example (pairs: both sentences together)
    max_seconds: float | None = None  # stop training after this much wall time
    eval_every: int | None = None  # steps between evaluations; None: about 8 per run
    log_every: int | None = None  # steps between Step events; None: about 300 per run
    patience: int | None = None  # early stopping: evaluations without a better accuracy
    warmup: float = 0.1  # share of the steps with a linear learning-rate warm-up (then linear decay)
    weight_decay: float = 0.01
    seed: int = 0
    device: str | None = None  # None: the checkpoint's device

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.mode]


# ---- events ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Start:
    total_steps: int
    n_train: int
    n_eval: int
    trainable: int  # parameters that train
    parameters: int  # parameters in the classifier
    device: str


@dataclass(frozen=True)
class Prepare:  # frozen mode: [CLS] vectors computed once
    done: int
    total: int


@dataclass(frozen=True)
class Step:
    step: int
    total_steps: int
    epoch: float  # fractional: 1.5 = half-way through the second epoch
    loss: float  # mean training loss since the previous Step event
    lr: float
    examples_per_s: float
    elapsed: float
    device: str


@dataclass(frozen=True)
class Evaluation:
    step: int
    epoch: float
    metrics: Metrics


@dataclass(frozen=True)
class FinetuneResult:
    classifier: Classifier
    config: FinetuneConfig
    metrics: Metrics
    data_name: str
    n_train: int
    n_eval: int
    layers: int | None  # encoder layers kept (None for the baseline)
    steps: int
    epochs: float
    seconds: float  # wall time of the whole run
    examples_per_s: float  # training throughput (evaluations excluded)
    stopped: str | None  # None, 'stopped', 'time limit' or 'early stopping'
    device: str
    history: tuple[dict, ...] = field(default=())

    def summary(self) -> dict:
        m = self.metrics
        return {"data": self.data_name, "mode": self.config.mode, "layers": self.layers, "n_train": self.n_train,
                "n_eval": self.n_eval, "labels": list(self.classifier.label_names), "pair": self.classifier.pair,
                "accuracy": m.accuracy, "macro_f1": m.macro_f1, "eval_loss": m.loss, "confusion": [list(r) for r in m.confusion],
                "f1_per_class": list(m.f1), "steps": self.steps, "epochs": round(self.epochs, 3),
                "seconds": round(self.seconds, 2), "examples_per_s": round(self.examples_per_s, 1),
                "stopped": self.stopped, "device": self.device, "max_length": self.classifier.max_length,
                "config": asdict(self.config)}


    def row(self) -> dict:
        """One line of the page's comparison table."""
        m = self.metrics
        return {"Data": self.data_name, "Mode": MODE_LABELS[self.config.mode], "Layers": str(self.layers or "–"),
                "Epochs": round(self.epochs, 2), "Time (s)": round(self.seconds, 1),
                "Examples/s": round(self.examples_per_s), "Accuracy": round(m.accuracy, 4),
                "Macro-F1": round(m.macro_f1, 4), "Device": self.device, "Stopped": self.stopped or ""}


@dataclass(frozen=True)
class Done:
    result: FinetuneResult


# ---- validation -----------------------------------------------------------------------------

def _check(name: str, value, integer: bool) -> None:
    lo, hi = LIMITS[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not lo <= value <= hi:
        kind = "a whole number" if integer else "a number"
        raise PlaygroundError(f"{name.replace('_', ' ')} must be {kind} between {lo:g} and {hi:g}, not {value!r}.")


def validate(cfg: FinetuneConfig, bundle=None, train: LabelledData | None = None,
             eval_data: LabelledData | None = None) -> FinetuneConfig:
    """Refuse absurd hyper-parameters and unusable data with one clear message; returns the config."""
    if cfg.mode not in MODES:
        raise PlaygroundError(f"mode must be one of {', '.join(MODES)}, not {cfg.mode!r}.")
    for name in ("epochs", "batch_size", "max_length"):
        _check(name, getattr(cfg, name), True)
    for name in ("lr", "warmup", "weight_decay"):
        _check(name, cfg.learning_rate if name == "lr" else getattr(cfg, name), False)
    for name, integer in (("max_seconds", False), ("eval_every", True), ("patience", True)):
        if getattr(cfg, name) is not None:
            _check(name, getattr(cfg, name), integer)
    if cfg.log_every is not None and (not isinstance(cfg.log_every, int) or cfg.log_every < 1):
        raise PlaygroundError("log every must be a whole number of steps >= 1.")
    if bundle is not None and cfg.mode != "baseline":
        n = bundle.info.layers
        if cfg.layers is not None and (not isinstance(cfg.layers, int) or isinstance(cfg.layers, bool)
                                       or not 1 <= cfg.layers <= n):
            raise PlaygroundError(f"layers kept must be a whole number between 1 and {n} (this checkpoint has {n}), "
                                  f"not {cfg.layers!r}.")
    for data, what in ((train, "training"), (eval_data, "evaluation")):
        if data is not None and len(data) == 0:
            raise PlaygroundError(f"The {what} data has no rows.")
    if train is not None:
        if len(set(train.labels)) < 2:
            raise PlaygroundError("The training data has only one class: a classifier needs at least two.")
        if eval_data is not None and tuple(eval_data.label_names) != tuple(train.label_names):
            raise PlaygroundError("The evaluation data's labels do not match the training data's labels.")
        if eval_data is not None and (eval_data.text_pairs is None) != (train.text_pairs is None):
            raise PlaygroundError("Use sentence pairs in both the training and the evaluation data, or in neither.")
    return cfg


# ---- building the classifier ----------------------------------------------------------------

def encoder_state(bundle, layers: int | None) -> dict[str, torch.Tensor]:
    """The checkpoint's encoder weights, without the layers beyond the first `layers`."""
    keep = {}
    for name, t in bundle.encoder.state_dict().items():
        m = re.match(r"encoder\.layer\.(\d+)\.", name)
        if m and layers is not None and int(m.group(1)) >= layers:
            continue
        keep[name] = t
    return keep


def build_classifier(bundle, label_names, layers: int | None = None, device=None) -> BertForSequenceClassification:
    """A new BertForSequenceClassification whose encoder is a copy of the first `layers` layers of the bundle's."""
    config = copy.deepcopy(bundle.encoder.config)
    config.num_hidden_layers = layers or config.num_hidden_layers
    config.num_labels = len(label_names)
    config.id2label = {i: n for i, n in enumerate(label_names)}
    config.label2id = {n: i for i, n in enumerate(label_names)}
    config.problem_type = "single_label_classification"
    config.architectures = ["BertForSequenceClassification"]
    config.output_attentions = config.output_hidden_states = False
    model = BertForSequenceClassification._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    missing, unexpected = model.bert.load_state_dict(encoder_state(bundle, layers), strict=False)  # copies the values
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise PlaygroundError(f"The checkpoint's encoder does not fit a BERT classifier (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}).")
    return model.to(device or bundle.device).train()


def _tokenizer_copy(bundle):
    """Tokenizers keep mutable state (truncation, padding): training uses its own copy, never the shared one."""
    try:
        return copy.deepcopy(bundle.tokenizer)
    except Exception:
        return AutoTokenizer.from_pretrained(bundle.info.path, local_files_only=True)


# ---- the three tasks: same interface for the loop -------------------------------------------

class _FullTask:
    def __init__(self, bundle, train: LabelledData, eval_data: LabelledData, cfg: FinetuneConfig, device):
        self.device, self.cfg = device, cfg
        self.tokenizer = _tokenizer_copy(bundle)
        self.model = build_classifier(bundle, train.label_names, cfg.layers, device)
        self.train_enc = encode(self.tokenizer, train.texts, train.text_pairs, cfg.max_length)
        self.eval_enc = encode(self.tokenizer, eval_data.texts, eval_data.text_pairs, cfg.max_length)
        self.params = [p for p in self.model.parameters() if p.requires_grad]

    def prepare(self, stop) -> Iterator[Prepare]:
        return iter(())

    def loss(self, idx: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with autocast(self.device):
            logits = self.model(**batch(self.train_enc, idx, self.device)).logits  # (B, C)
        return F.cross_entropy(logits.float(), y)

    def eval_logits(self) -> torch.Tensor:
        self.model.eval()
        out = bert_logits(self.model, self.eval_enc, self.device)
        self.model.train()
        return out

    def classifier(self, label_names, pair: bool) -> Classifier:
        return Classifier("bert", self.model.eval(), self.tokenizer, tuple(label_names), self.device, self.cfg.max_length, pair)


class _FrozenTask(_FullTask):
    """The encoder never trains: its last-layer [CLS] vectors are computed once; the head trains on them."""

    def __init__(self, bundle, train, eval_data, cfg, device):
        super().__init__(bundle, train, eval_data, cfg, device)
        for p in self.model.bert.parameters():
            p.requires_grad_(False)
        head = list(self.model.bert.pooler.parameters()) + list(self.model.classifier.parameters())
        for p in head:
            p.requires_grad_(True)
        self.params = head
        self.train_cls = self.eval_cls = None

    @torch.no_grad()
    def _cls(self, enc: dict, stop, done: int, total: int, out: list) -> Iterator[Prepare]:
        n = len(enc["input_ids"])
        feats = torch.zeros((n, self.model.config.hidden_size), device=self.device)  # (N, D)
        self.model.bert.eval()
        for idx in by_length(enc, 128):
            if stop is not None and stop.is_set():
                break
            with autocast(self.device):
                h = self.model.bert(**batch(enc, idx, self.device)).last_hidden_state[:, 0]  # (B, D)
            feats[idx.to(self.device)] = h.float()
            done += len(idx)
            yield Prepare(done, total)
        out.append(feats)

    def prepare(self, stop) -> Iterator[Prepare]:
        total = len(self.train_enc["input_ids"]) + len(self.eval_enc["input_ids"])
        got: list = []
        yield from self._cls(self.train_enc, stop, 0, total, got)
        yield from self._cls(self.eval_enc, stop, len(self.train_enc["input_ids"]), total, got)
        self.train_cls, self.eval_cls = got

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        pooled = self.model.bert.pooler(h[:, None, :])  # dense + tanh on [CLS]: (B, D)
        return self.model.classifier(self.model.dropout(pooled))  # (B, C)

    def loss(self, idx, y):
        return F.cross_entropy(self._head(self.train_cls[idx.to(self.device)]), y)

    @torch.no_grad()
    def eval_logits(self):
        self.model.eval()
        out = self._head(self.eval_cls).float().cpu()
        self.model.train()
        return out


class _BaselineTask:
    def __init__(self, bundle, train, eval_data, cfg, device):
        self.device, self.cfg = device, cfg
        self.model = BowClassifier(build_vocab(train.texts, train.text_pairs), len(train.label_names)).to(device)
        self.train_bow = self.model.encode(train.texts, train.text_pairs)
        self.eval_bow = self.model.encode(eval_data.texts, eval_data.text_pairs)
        self.params = list(self.model.parameters())

    def prepare(self, stop):
        return iter(())

    def loss(self, idx, y):
        logits = self.model(**BowClassifier.collate([self.train_bow[i] for i in idx.tolist()], self.device))
        return F.cross_entropy(logits, y)

    def eval_logits(self):
        return bow_logits(self.model, self.eval_bow, self.device)

    def classifier(self, label_names, pair):
        return Classifier("baseline", self.model.eval(), None, tuple(label_names), self.device, self.cfg.max_length, pair)


TASKS = {"full": _FullTask, "frozen": _FrozenTask, "baseline": _BaselineTask}


# ---- the loop -------------------------------------------------------------------------------

def _optimizer(params, cfg: FinetuneConfig, device) -> torch.optim.Optimizer:
    decay = [p for p in params if p.dim() >= 2]
    rest = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=cfg.learning_rate, fused=device.type in ("cpu", "cuda") or None)


def lr_at(step: int, total: int, cfg: FinetuneConfig) -> float:
    """Linear warm-up over `warmup` of the steps, then linear decay to zero."""
    warm = max(1, round(cfg.warmup * total)) if cfg.warmup > 0 else 0
    if step < warm:
        return cfg.learning_rate * (step + 1) / warm
    return cfg.learning_rate * max(0.0, (total - step) / max(1, total - warm))


def train(bundle, train_data: LabelledData, eval_data: LabelledData, cfg: FinetuneConfig = FinetuneConfig(),
          stop: threading.Event | None = None) -> Iterator:
    """Validate now (raising PlaygroundError), then return the generator of training events."""
    if bundle is None and cfg.mode != "baseline":
        raise PlaygroundError(f"Mode '{cfg.mode}' fine-tunes a BERT checkpoint: load one first.")
    validate(cfg, bundle, train_data, eval_data)
    return _guarded(bundle, train_data, eval_data, cfg, stop)


def _guarded(bundle, train_data, eval_data, cfg, stop):
    try:
        yield from _loop(bundle, train_data, eval_data, cfg, stop)
        return
    except torch.cuda.OutOfMemoryError:
        pass  # leave the except block first, so the traceback (and the model it holds) can be freed
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    raise PlaygroundError(f"The GPU ran out of memory with batch size {cfg.batch_size} and up to {cfg.max_length} "
                              f"tokens per example: try a smaller batch size (e.g. {max(1, cfg.batch_size // 2)}), "
                              "fewer layers or a shorter maximum length.") from None


def _evaluate(task, labels: torch.Tensor, n_labels: int) -> Metrics:
    logits = task.eval_logits()  # (N, C)
    loss = F.cross_entropy(logits, labels).item()
    return classification_metrics(labels.numpy(), logits.argmax(-1).numpy(), n_labels, loss)


def _loop(bundle, train_data: LabelledData, eval_data: LabelledData, cfg: FinetuneConfig, stop) -> Iterator:
    t0 = time.perf_counter()
    configure_cpu_threads()
    device = torch.device(cfg.device) if cfg.device else (bundle.device if bundle is not None else choose_device())
    label = describe(device)
    torch.manual_seed(cfg.seed)
    task = TASKS[cfg.mode](bundle, train_data, eval_data, cfg, device)
    n, bs = len(train_data), min(cfg.batch_size, len(train_data))
    total = cfg.epochs * math.ceil(n / bs)
    model_params = sum(p.numel() for p in task.model.parameters())
    yield Start(total, n, len(eval_data), sum(p.numel() for p in task.params), model_params, label)
    yield from task.prepare(stop)
    opt = _optimizer(task.params, cfg, device)
    y_train = torch.tensor(train_data.labels, dtype=torch.long)
    y_eval = torch.tensor(eval_data.labels, dtype=torch.long)
    log_every = cfg.log_every or max(1, total // 300)
    eval_every = cfg.eval_every or max(1, math.ceil(total / 8))
    gen = torch.Generator().manual_seed(cfg.seed)
    step = seen = bad = 0
    best, stopped, metrics, history = -1.0, None, None, []
    loss_sum, loss_n = torch.zeros((), device=device), 0
    t_train, eval_time = time.perf_counter(), 0.0
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            if stop is not None and stop.is_set():
                stopped = "stopped"
            elif cfg.max_seconds and time.perf_counter() - t0 >= cfg.max_seconds:
                stopped = "time limit"
            if stopped:
                break
            idx = perm[i:i + bs]
            lr = lr_at(step, total, cfg)
            for g in opt.param_groups:
                g["lr"] = lr
            loss = task.loss(idx, y_train[idx].to(device, non_blocking=True))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.mode != "baseline":
                torch.nn.utils.clip_grad_norm_(task.params, 1.0)
            opt.step()
            step, seen = step + 1, seen + len(idx)
            loss_sum += loss.detach()
            loss_n += 1
            if step % log_every == 0 or step == total:
                now = time.perf_counter()
                ev = Step(step, total, epoch + (i + len(idx)) / n, loss_sum.item() / loss_n, lr,
                          seen / max(now - t_train - eval_time, 1e-9), now - t0, label)
                loss_sum.zero_()
                loss_n = 0
                history.append({"step": step, "epoch": round(ev.epoch, 4), "loss": ev.loss, "lr": lr})
                yield ev
            if step % eval_every == 0 or step == total:
                te = time.perf_counter()
                metrics = _evaluate(task, y_eval, len(train_data.label_names))
                eval_time += time.perf_counter() - te
                history.append({"step": step, "epoch": round(epoch + (i + len(idx)) / n, 4),
                                "eval_accuracy": metrics.accuracy, "eval_macro_f1": metrics.macro_f1})
                yield Evaluation(step, epoch + (i + len(idx)) / n, metrics)
                if cfg.patience:
                    best, bad = (metrics.accuracy, 0) if metrics.accuracy > best + 1e-9 else (best, bad + 1)
                    if bad >= cfg.patience:
                        stopped = "early stopping"
                        break
        if stopped:
            break
    if metrics is None or history[-1].get("eval_accuracy") is None:  # stopped between evaluations
        metrics = _evaluate(task, y_eval, len(train_data.label_names))
        yield Evaluation(step, step * bs / n, metrics)
    wall = time.perf_counter() - t0
    result = FinetuneResult(
        classifier=task.classifier(train_data.label_names, train_data.text_pairs is not None), config=cfg, metrics=metrics,
        data_name=train_data.name, n_train=n, n_eval=len(eval_data),
        layers=None if cfg.mode == "baseline" else (cfg.layers or bundle.info.layers), steps=step,
        epochs=min(step * bs / n, cfg.epochs), seconds=wall,
        examples_per_s=seen / max(time.perf_counter() - t_train - eval_time, 1e-9), stopped=stopped,
        device=label, history=tuple(history))
    yield Done(result)


def run(bundle, train_data, eval_data, cfg: FinetuneConfig = FinetuneConfig(), stop=None, on_event=None) -> FinetuneResult:
    """Train to the end and return the result (CLI, tests, benchmarks); `on_event` sees every event."""
    for ev in train(bundle, train_data, eval_data, cfg, stop):
        if on_event is not None:
            on_event(ev)
        if isinstance(ev, Done):
            return ev.result
    raise PlaygroundError("Training ended without a result.")


# ---- saving ---------------------------------------------------------------------------------

def save(result: FinetuneResult, folder: str | Path, extra: dict | None = None) -> Path:
    """A normal Hugging Face checkpoint folder (safetensors + tokenizer + label names in config.json)
    plus metrics.json; the baseline saves its weights and vocabulary instead."""
    folder = Path(folder)
    save_classifier(result.classifier, folder)
    info = {**result.summary(), "history": list(result.history), **(extra or {})}
    (folder / METRICS_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False))
    return folder


# ---- for the page: curves from the events seen so far ---------------------------------------

@dataclass(frozen=True)
class Curves:
    steps: list[int]
    losses: list[float]
    eval_steps: list[int]
    accuracies: list[float]
    macro_f1s: list[float]
    last: Step | None
    start: Start | None
    prepare: Prepare | None
    result: FinetuneResult | None

    @property
    def fraction(self) -> float:
        if self.result is not None:
            return 1.0
        if self.last is not None:
            return min(1.0, self.last.step / max(self.last.total_steps, 1))
        return 0.0

    @property
    def status(self) -> str:
        """One line for a progress bar: the latest step, or the feature pass of frozen mode."""
        if (s := self.last) is not None:
            return (f"step {s.step}/{s.total_steps} · epoch {s.epoch:.2f} · loss {s.loss:.4f} · lr {s.lr:.2g} · "
                    f"{s.examples_per_s:,.0f} examples/s · {s.elapsed:.1f} s · {s.device}")
        if self.prepare is not None:
            return f"computing [CLS] features: {self.prepare.done}/{self.prepare.total}"
        return "starting…"


def curves(events: list) -> Curves:
    steps = [e for e in events if isinstance(e, Step)]
    evals = [e for e in events if isinstance(e, Evaluation)]
    pick = lambda kind: next((e for e in reversed(events) if isinstance(e, kind)), None)  # noqa: E731
    done = pick(Done)
    return Curves([e.step for e in steps], [e.loss for e in steps], [e.step for e in evals],
                  [e.metrics.accuracy for e in evals], [e.metrics.macro_f1 for e in evals],
                  steps[-1] if steps else None, pick(Start), pick(Prepare), done.result if done else None)
