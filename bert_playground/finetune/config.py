"""Fine-tuning settings: one dataclass, its bounds and its validation."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.errors import PlaygroundError
from .tasks import MODES, TASKS  # noqa: F401 (every mode; one description per task)

TASK_MODES = {name: task.modes for name, task in TASKS.items()}
POOLINGS = ("cls", "mean")  # what the sequence head reads: the [CLS] vector or the mean of the token vectors
DEFAULT_LR = {"full": 5e-4, "frozen": 2e-3, "random": 5e-4, "baseline": 0.1}
LIMITS = {  # (low, high), inclusive: the CLI's and the page's bounds (the page narrows a few: APP_LIMITS)
    "epochs": (1, 50), "batch_size": (1, 512), "lr": (1e-6, 1.0), "max_length": (8, 512),
    "max_seconds": (1.0, 24 * 3600.0), "eval_every": (1, 1_000_000), "patience": (1, 100),
    "warmup": (0.0, 0.5), "weight_decay": (0.0, 1.0), "stride": (8, 256), "max_answer": (1, 100), "snapshots": (0, 10),
    "eval_rows": (10, 10_000_000),
}

NAMES = {"max_seconds": "time limit (s)"}  # how a message names a setting, where its field name would not say it
APP_LIMITS = {**LIMITS, "max_seconds": (5.0, 3600.0)}  # a run started from the app: a shared server bounds its time
APP_MAX_SECONDS = 120.0  # the app's time limit until the user sets one (the CLI has none unless asked)


@dataclass(frozen=True)
class FinetuneConfig:
    mode: str = "full"  # 'full': every weight trains | 'frozen': only the head | 'random': full, from fresh weights
    #                     (same architecture, no pre-training) | 'baseline': bag-of-words, no BERT
    task: str = "classify"  # 'classify' | 'pairs' (sentence pairs) | 'tag' (a tag per word) | 'qa' (answer span)
    pooling: str = "cls"  # sequence tasks: the head reads the [CLS] vector ('cls') or the mean token vector ('mean')
    layers: int | None = None  # keep only the first k encoder layers ("tiny" BERT); None: all of them
    epochs: int = 3  # passes over the training data
    batch_size: int = 16  # examples per optimisation step
    lr: float | None = None  # peak learning rate; None: DEFAULT_LR[mode]
    max_length: int = 128  # tokens per example (pairs: both sentences together)
    max_seconds: float | None = None  # stop training after this much wall time
    eval_every: int | None = None  # steps between evaluations; None: about 8 per run
    log_every: int | None = None  # steps between Step events; None: about 300 per run
    patience: int | None = None  # early stopping: evaluations without a better accuracy
    warmup: float = 0.1  # share of the steps with a linear learning-rate warm-up (then linear decay)
    weight_decay: float = 0.01  # AdamW decay on weight matrices (not on biases and LayerNorm)
    seed: int = 0  # initial head weights, batch order and dropout
    eval_rows: int | None = 2000  # held-out rows scored per evaluation: a larger set is sampled once (seed), and said so
    device: str | None = None  # None: the checkpoint's device
    stride: int = 64  # QA: tokens shared by consecutive windows over a long passage (the document stride)
    max_answer: int = 30  # QA: the longest answer span, in tokens
    snapshots: int = 0  # epoch snapshots of the model kept in memory (0: none) for the what-changed views

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.mode]

    def check(self, limits: dict = LIMITS) -> FinetuneConfig:
        """Refuse absurd hyper-parameters with one clear message (bounds: `limits`); returns the config."""
        if self.task not in TASKS:
            raise PlaygroundError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}.")
        if self.mode not in TASK_MODES[self.task]:
            raise PlaygroundError(f"mode must be one of {', '.join(TASK_MODES[self.task])} for the {self.task!r} task, "
                                  f"not {self.mode!r}.")
        if self.pooling not in POOLINGS:
            raise PlaygroundError(f"pooling must be one of {', '.join(POOLINGS)}, not {self.pooling!r}.")
        for name in ("epochs", "batch_size", "max_length", "stride", "max_answer", "snapshots"):
            _check(name, getattr(self, name), True, limits)
        for name in ("lr", "warmup", "weight_decay"):
            _check(name, self.learning_rate if name == "lr" else getattr(self, name), False, limits)
        for name, integer in (("max_seconds", False), ("eval_every", True), ("patience", True), ("eval_rows", True)):
            if getattr(self, name) is not None:
                _check(name, getattr(self, name), integer, limits)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise PlaygroundError(f"seed must be a whole number from 0 to {2**63 - 1}, not {str(self.seed)[:30]}.")
        if self.log_every is not None and (not isinstance(self.log_every, int) or self.log_every < 1):
            raise PlaygroundError("log every must be a whole number of steps >= 1.")
        return self


def _check(name: str, value, integer: bool, limits: dict = LIMITS) -> None:
    lo, hi = limits[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not lo <= value <= hi:
        kind = "a whole number" if integer else "a number"
        raise PlaygroundError(f"{NAMES.get(name, name.replace('_', ' '))} must be {kind} between {lo:g} and {hi:g}, "
                              f"not {value!r}.")


def validate(cfg: FinetuneConfig, bundle=None, train=None, eval_data=None, limits: dict = LIMITS) -> FinetuneConfig:
    """The config's own checks (bounds: `limits`), then those against the checkpoint and the data; returns it."""
    cfg.check(limits)
    if bundle is not None and cfg.mode != "baseline":
        n = bundle.info.layers
        if cfg.layers is not None and (not isinstance(cfg.layers, int) or isinstance(cfg.layers, bool)
                                       or not 1 <= cfg.layers <= n):
            raise PlaygroundError(f"layers kept must be a whole number between 1 and {n} (this checkpoint has {n}), "
                                  f"not {cfg.layers!r}.")
    for data, what in ((train, "training"), (eval_data, "evaluation")):
        if data is not None and len(data) == 0:
            raise PlaygroundError(f"The {what} data has no rows.")
    if TASKS[cfg.task].kind != "table":
        return _validate_span_task(cfg, train, eval_data)
    if cfg.task == "pairs" and train is not None and train.text_pairs is None:
        raise PlaygroundError("The sentence-pair task needs a second-sentence column (e.g. 'sentence2').")
    if train is not None:
        if len(set(train.labels)) < 2:
            raise PlaygroundError("The training data has only one class: a classifier needs at least two.")
        if eval_data is not None and tuple(eval_data.label_names) != tuple(train.label_names):
            raise PlaygroundError("The evaluation data's labels do not match the training data's labels.")
        if eval_data is not None and (eval_data.text_pairs is None) != (train.text_pairs is None):
            raise PlaygroundError("Use sentence pairs in both the training and the evaluation data, or in neither.")
    return cfg


def _validate_span_task(cfg: FinetuneConfig, train, eval_data) -> FinetuneConfig:
    """Token tagging reads TaggedData (CoNLL); QA reads QAData (SQuAD JSON)."""
    from ..datasets import QAData, TaggedData

    kind, what = (TaggedData, "sentences with a tag per word (CoNLL)") if cfg.task == "tag" else \
        (QAData, "questions with passages and answers (SQuAD JSON)")
    for data in (train, eval_data):
        if data is not None and not isinstance(data, kind):
            raise PlaygroundError(f"The {cfg.task!r} task trains on {what}, not on {type(data).__name__}.")
    if cfg.task == "tag" and train is not None and eval_data is not None and \
            tuple(eval_data.label_names) != tuple(train.label_names):
        raise PlaygroundError("The evaluation data's tags do not match the training data's tags.")
    if cfg.task == "qa" and cfg.stride > cfg.max_length // 2:
        raise PlaygroundError(f"the document stride ({cfg.stride}) must be at most half the maximum length "
                              f"({cfg.max_length}) so that windows move forward.")
    return cfg
