"""The experiment sheet: one record per finished run of this session (task, checkpoint, mode, layers, epochs,
seconds, metric), its metric-vs-time curve, and a CSV export. The page only draws it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..core import csv_cells
from .tasks import TASKS
from .events import FinetuneResult



@dataclass(frozen=True)
class RunRecord:
    run: int  # 1, 2, ... in this session
    task: str
    data: str
    checkpoint: str  # '' for the bag-of-words baseline
    mode: str
    pooling: str  # '' where no sequence head reads a pooled vector
    layers: int | None
    epochs: float
    seconds: float
    metric: str  # what `score` is: accuracy, entity F1 or SQuAD F1
    score: float  # nan: the run was stopped before its first evaluation
    n_train: int
    n_eval: int
    device: str
    stopped: str
    curve: tuple[tuple[float, float], ...] = field(default=(), repr=False)  # (seconds, score) at each evaluation

    def row(self) -> dict:
        """The CSV row: every field but the curve."""
        return {k: v for k, v in asdict(self).items() if k != "curve"}


def record_of(result: FinetuneResult, run: int, checkpoint: str) -> RunRecord:
    task, cfg = result.config.task, result.config
    key = TASKS[task].history_key
    curve = tuple((h["seconds"], h[key]) for h in result.history if key in h and "seconds" in h)
    score = float(result.metrics.score) if result.metrics is not None else float("nan")  # nan: no evaluation
    return RunRecord(run, task, result.data_name, checkpoint if cfg.mode != "baseline" else "", cfg.mode,
                     cfg.pooling if TASKS[task].kind == "table" and cfg.mode != "baseline" else "", result.layers,
                     round(result.epochs, 3), round(result.seconds, 2), TASKS[task].sheet_metric, score,
                     result.n_train, result.n_eval, result.device, result.stopped or "", curve)


class Sheet:
    """The session's runs, each recorded once however often the page asks (keyed by the run's job)."""

    def __init__(self):
        self.records: list[RunRecord] = []
        self._keys: list[int] = []

    def record(self, key: object, result: FinetuneResult | None, checkpoint: str) -> bool:
        """Add the run behind `key` (e.g. its Job) unless it is already in; True when it was added."""
        if id(key) in self._keys or result is None:
            return False
        self._keys.append(id(key))
        self.records.append(record_of(result, len(self.records) + 1, checkpoint))
        return True

    def __len__(self) -> int:
        return len(self.records)

    def to_csv(self) -> str:
        if not self.records:
            return ""
        return csv_cells.write([r.row() for r in self.records])
