"""What a fine-tuning run reports as it goes (Start, Prepare, Step, Evaluation, Done) and its result."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..core.notices import Notice
from .classifier import Classifier, Metrics
from .config import FinetuneConfig
from .tasks import TASKS


@dataclass(frozen=True)
class Start:
    total_steps: int
    n_train: int
    n_eval: int
    trainable: int  # parameters that train
    parameters: int  # parameters in the classifier
    device: str


@dataclass(frozen=True)
class Phase:  # what the run is doing when it is not stepping: 'tokenizing…', 'evaluating on 2,000 rows…'
    text: str


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
    metrics: Metrics  # or TagMetrics / QAMetrics


@dataclass(frozen=True)
class FinetuneResult:
    classifier: Classifier  # the trained model: a Classifier, or a Tagger / Reader (`predictors.py`) for tag / qa
    config: FinetuneConfig
    metrics: Metrics | None  # Metrics (classify, pairs), TagMetrics (tag) or QAMetrics (qa); None: stopped before any evaluation
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
    notices: tuple[Notice, ...] = field(default=())  # e.g. 'evaluated on a sample of 2,000 of the 30,000 held-out rows'
    snapshots: tuple = field(default=(), repr=False)  # ((epoch, CPU state dict), ...) when config.snapshots > 0

    @property
    def task(self) -> str:
        return self.config.task

    def summary(self) -> dict:
        """The run as plain JSON-ready values (the CLI's output and metrics.json), the same fields for every task:
        the run, the trained predictor's settings (`settings()`), the scores (`metrics.summary()`)."""
        scores = self.metrics.summary() if self.metrics is not None else dict(TASKS[self.config.task].no_scores)
        return {"task": self.config.task, "data": self.data_name, "mode": self.config.mode, "layers": self.layers,
                "n_train": self.n_train, "n_eval": self.n_eval, **self.classifier.settings(), **scores,
                "steps": self.steps, "epochs": round(self.epochs, 3), "seconds": round(self.seconds, 2),
                "examples_per_s": round(self.examples_per_s, 1), "stopped": self.stopped, "device": self.device,
                "config": asdict(self.config), "notices": [str(n) for n in self.notices]}

    def to_dict(self) -> dict:
        """The CLI's `finetune --json` (less the columns it read and the folder it saved to): `summary()`."""
        return self.summary()


@dataclass(frozen=True)
class Done:
    result: FinetuneResult
