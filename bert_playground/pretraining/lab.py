"""The Pre-training lab: tiny BERTs pre-trained from scratch on the shipped corpus in a few minutes, one recipe knob
at a time, with the same `pretrain`, `masking` and `pairs` code as the embedded checkpoint; and the comparison of
recipes across seeds (is a difference larger than the run-to-run spread?)."""
from __future__ import annotations

import json
import os
import queue
import statistics
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from ..core.errors import PlaygroundError
from ..core.paths import LAB_CORPUS, LAB_HELD_OUT
from .config import PAIR_TASKS, PRESETS, PretrainConfig

LAB_PRESETS = ("tiny", "mini")
ENV_MAX_SECONDS = "BERT_PLAYGROUND_LAB_MAX_SECONDS"  # a shared server's cap on one lab run, in seconds (one setting)
DEFAULT_MAX_SECONDS = 600.0
PROBES = ("The capital of France is [MASK].", "She [MASK] to school every day.", "The cats [MASK] on the sofa.",
          "He put the milk in the [MASK].")
EVAL_DOCS = 30  # the held-out file's articles every lab run is measured on
MAX_SIZES = {"layers": (1, 6), "hidden": (32, 256), "heads": (1, 8)}


def max_seconds() -> float:
    """The longest lab run this server allows ($BERT_PLAYGROUND_LAB_MAX_SECONDS, default 600 s)."""
    raw = os.environ.get(ENV_MAX_SECONDS, "").strip()
    try:
        return max(10.0, float(raw)) if raw else DEFAULT_MAX_SECONDS
    except ValueError:
        return DEFAULT_MAX_SECONDS


@dataclass(frozen=True)
class Recipe:
    """One lab run: the model's size, the training budget and the pre-training recipe (the knobs RoBERTa varied)."""
    preset: str = "tiny"
    layers: int | None = None  # None: the preset's
    hidden: int | None = None
    heads: int | None = None
    seq_len: int = 64
    batch_size: int = 16
    lr: float = 1e-3
    seconds: float = 120.0  # the time limit, the last evaluation included
    seed: int = 0
    mask_rate: float = 0.15
    mask_split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    static_masking: int = 0
    whole_word: bool = False
    pair_task: str = "nsp"
    corpus_share: float = 1.0  # how much of the shipped corpus's training articles to use
    probes: tuple[str, ...] = PROBES

    def check(self) -> Recipe:
        if self.preset not in LAB_PRESETS:
            raise PlaygroundError(f"The lab trains the {' or '.join(LAB_PRESETS)} presets, not '{str(self.preset)[:20]}'.")
        for name, (lo, hi) in MAX_SIZES.items():
            v = getattr(self, name)
            if v is not None and not lo <= v <= hi:
                raise PlaygroundError(f"{name} must be from {lo} to {hi} in the lab, not {v}.")
        hidden, heads = self.size()["hidden_size"], self.size()["num_attention_heads"]
        if hidden % heads:
            raise PlaygroundError(f"The hidden size ({hidden}) must be a multiple of the number of heads ({heads}).")
        if not 10 <= self.seconds <= max_seconds():
            raise PlaygroundError(f"The time limit must be from 10 to {max_seconds():.0f} s on this server.")
        if not 0.05 <= self.corpus_share <= 1.0:
            raise PlaygroundError("Use between 5% and 100% of the shipped corpus.")
        if self.pair_task not in PAIR_TASKS:
            raise PlaygroundError(f"The pair task must be one of {', '.join(PAIR_TASKS)}.")
        return self

    def size(self) -> dict:
        cfg = dict(PRESETS[self.preset])
        for key, name in (("num_hidden_layers", "layers"), ("hidden_size", "hidden"), ("num_attention_heads", "heads")):
            if getattr(self, name) is not None:
                cfg[key] = getattr(self, name)
        cfg["intermediate_size"] = 4 * cfg["hidden_size"]
        return cfg

    def config(self, out: str | Path) -> PretrainConfig:
        """The PretrainConfig of this run, writing the model's config.json into `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "model_config.json").write_text(json.dumps(self.size()))
        docs = _training_docs()
        return PretrainConfig(
            corpus=str(LAB_CORPUS), eval_corpus=str(LAB_HELD_OUT), out=str(out), init="scratch",
            preset=str(out / "model_config.json"), eval_docs=EVAL_DOCS, eval_pairs=256, seq_len=self.seq_len, batch_size=self.batch_size, lr=self.lr,
            warmup_steps=20, max_seconds=self.seconds, mask_rate=self.mask_rate, mask_split=tuple(self.mask_split),
            static_masking=self.static_masking, whole_word=self.whole_word, pair_task=self.pair_task,
            short_seq_prob=0.1, seed=self.seed, log_every=10, eval_every=10**9, save_every_seconds=10**9,
            max_docs=max(2, round(self.corpus_share * docs)), probes=tuple(self.probes),
            snapshot_every=max(10, round(self.seconds / 8)), precision="fp32", save_dtype="float32")


def _training_docs() -> int:
    from ..inputs.corpus import read_wikiextractor

    return len(read_wikiextractor(str(LAB_CORPUS)))


def run(recipe: Recipe, stop, workdir: str | Path | None = None) -> Iterator[dict]:
    """Pre-train `recipe` and yield its events as they happen (log rows, snapshots), then {"event": "done",
    "result": ...}. Runs `pretrain` in a thread of its own so that its events stream out while it trains."""
    from .pretrain import pretrain

    recipe.check()
    out = Path(workdir or tempfile.mkdtemp(prefix="bert-playground-lab-"))
    cfg = recipe.config(out)
    events: queue.Queue = queue.Queue()

    def work():
        try:
            events.put({"event": "done", "result": pretrain(cfg, stop=stop, on_event=events.put)})
        except BaseException as exc:  # noqa: BLE001 (handed to the generator, raised there)
            events.put({"event": "error", "error": exc})

    threading.Thread(target=work, name="bert-playground-lab", daemon=True).start()
    while True:
        ev = events.get()
        if ev.get("event") == "error":
            raise ev["error"]
        yield ev
        if ev.get("event") == "done":
            return


@dataclass(frozen=True)
class Summary:
    """One recipe over its seeds: the mean and spread of its final held-out figures."""
    label: str
    runs: int
    mlm_mean: float
    mlm_spread: float  # standard deviation over the seeds (0 with one run)
    pair_mean: float | None
    unigram: float  # the unigram baseline on the same held-out positions
    results: tuple = field(default=(), repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "results"}


def summarise(label: str, results: list[dict]) -> Summary:
    mlm = [r["eval_mlm_accuracy"] for r in results]
    pair = [r["eval_nsp_accuracy"] for r in results if r.get("eval_nsp_accuracy") is not None]
    return Summary(label, len(results), statistics.fmean(mlm), statistics.stdev(mlm) if len(mlm) > 1 else 0.0,
                   statistics.fmean(pair) if pair else None,
                   statistics.fmean(r["unigram_baseline_accuracy"] for r in results), tuple(results))


def verdict(a: Summary, b: Summary) -> str:
    """Whether two recipes' held-out MLM accuracies differ by more than their runs do among themselves."""
    gap, spread = b.mlm_mean - a.mlm_mean, max(a.mlm_spread, b.mlm_spread)
    if min(a.runs, b.runs) < 2:
        return (f"{b.label} vs {a.label}: {gap:+.3f} MLM accuracy from one run each; repeat with 3 seeds to see "
                "whether that is more than chance.")
    if abs(gap) <= 2 * spread:
        return (f"{b.label} vs {a.label}: {gap:+.3f}, within twice the seeds' spread ({spread:.3f}): no difference "
                "this experiment can tell from chance.")
    return f"{b.label} vs {a.label}: {gap:+.3f}, more than twice the seeds' spread ({spread:.3f})."
