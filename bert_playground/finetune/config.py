"""Fine-tuning settings: one dataclass, its bounds and its validation."""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import PlaygroundError

MODES = ("full", "frozen", "baseline")  # the task heads in `heads.HEADS`
DEFAULT_LR = {"full": 5e-4, "frozen": 2e-3, "baseline": 0.1}
LIMITS = {  # (low, high), inclusive: the page's widgets use the same bounds
    "epochs": (1, 50), "batch_size": (1, 512), "lr": (1e-6, 1.0), "max_length": (8, 512),
    "max_seconds": (1.0, 24 * 3600.0), "eval_every": (1, 1_000_000), "patience": (1, 100),
    "warmup": (0.0, 0.5), "weight_decay": (0.0, 1.0), "eval_rows": (10, 10_000_000),
}


@dataclass(frozen=True)
class FinetuneConfig:
    mode: str = "full"  # 'full': every weight trains | 'frozen': only the head | 'baseline': bag-of-words, no BERT
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

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.mode]

    def check(self) -> FinetuneConfig:
        """Refuse absurd hyper-parameters with one clear message; returns the config."""
        if self.mode not in MODES:
            raise PlaygroundError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}.")
        for name in ("epochs", "batch_size", "max_length"):
            _check(name, getattr(self, name), True)
        for name in ("lr", "warmup", "weight_decay"):
            _check(name, self.learning_rate if name == "lr" else getattr(self, name), False)
        for name, integer in (("max_seconds", False), ("eval_every", True), ("patience", True), ("eval_rows", True)):
            if getattr(self, name) is not None:
                _check(name, getattr(self, name), integer)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise PlaygroundError(f"seed must be a whole number from 0 to {2**63 - 1}, not {str(self.seed)[:30]}.")
        if self.log_every is not None and (not isinstance(self.log_every, int) or self.log_every < 1):
            raise PlaygroundError("log every must be a whole number of steps >= 1.")
        return self


def _check(name: str, value, integer: bool) -> None:
    lo, hi = LIMITS[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or not lo <= value <= hi:
        kind = "a whole number" if integer else "a number"
        raise PlaygroundError(f"{name.replace('_', ' ')} must be {kind} between {lo:g} and {hi:g}, not {value!r}.")


def validate(cfg: FinetuneConfig, bundle=None, train=None, eval_data=None) -> FinetuneConfig:
    """The config's own checks, then those against the checkpoint and the data; returns the config."""
    cfg.check()
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
