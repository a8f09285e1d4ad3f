"""The fine-tuning loop: validate, then a generator of events that the UI draws live.

It honours a stop flag (threading.Event), a time limit and early stopping; the head (`heads.py`) decides what
trains and how a batch becomes a loss; `training.py` holds the optimiser, schedule, precision and step.
"""
from __future__ import annotations

import contextlib
import gc
import math
import random
import threading
import time
from typing import Iterator

import torch

from ..core import training
from ..core.device import choose_device, configure_cpu_threads, describe
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..datasets import LabelledData
from .config import FinetuneConfig, validate
from .events import Done, Evaluation, FinetuneResult, Phase, Start, Step
from .heads import head_class
from .snapshots import Snapshots
from .tasks import TASKS


def lr_at(step: int, total: int, cfg: FinetuneConfig) -> float:
    """Linear warm-up over `warmup` of the steps, then linear decay to zero."""
    warm = max(1, round(cfg.warmup * total)) if cfg.warmup > 0 else 0
    return cfg.learning_rate * training.lr_factor(step, warm, (step - warm) / max(1, total - warm))


def train(bundle, train_data: LabelledData, eval_data: LabelledData, cfg: FinetuneConfig = FinetuneConfig(),
          stop: threading.Event | None = None) -> Iterator:
    """Validate now (raising PlaygroundError), then return the generator of training events."""
    if bundle is None and cfg.mode != "baseline":
        raise PlaygroundError(f"Mode '{cfg.mode}' fine-tunes a BERT checkpoint: load one first.")
    validate(cfg, bundle, train_data, eval_data)  # train_data: LabelledData, TaggedData or QAData (cfg.task)
    return _guarded(bundle, train_data, eval_data, cfg, stop)


def run(bundle, train_data, eval_data, cfg: FinetuneConfig = FinetuneConfig(), stop=None, on_event=None) -> FinetuneResult:
    """Train to the end and return the result (CLI, tests, benchmarks); `on_event` sees every event."""
    for ev in train(bundle, train_data, eval_data, cfg, stop):
        if on_event is not None:
            on_event(ev)
        if isinstance(ev, Done):
            return ev.result
    raise PlaygroundError("Training ended without a result.")


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


# ---- tiny helpers -----------------------------------------------------------------------------

def _device(cfg: FinetuneConfig, bundle) -> torch.device:
    return torch.device(cfg.device) if cfg.device else (bundle.device if bundle is not None else choose_device())


def _count(params) -> int:
    return sum(p.numel() for p in params)


def _stop_reason(stop, cfg: FinetuneConfig, t0: float, reserve: float = 0.0) -> str | None:
    """`reserve`: seconds kept for the final evaluation, so the time limit bounds the whole run."""
    if stop is not None and stop.is_set():
        return "stopped"
    if cfg.max_seconds and time.perf_counter() - t0 + reserve >= cfg.max_seconds:
        return "time limit"
    return None


class _Deadline:
    """A stop flag that is also set once the time limit has passed (for the [CLS] feature pass)."""

    def __init__(self, stop, cfg: FinetuneConfig, t0: float):
        self.stop, self.cfg, self.t0 = stop, cfg, t0

    def is_set(self) -> bool:
        return _stop_reason(self.stop, self.cfg, self.t0) is not None


def eval_sample(eval_data: LabelledData, cfg: FinetuneConfig) -> tuple[LabelledData, tuple[Notice, ...]]:
    """At most `cfg.eval_rows` held-out rows (a fixed random sample), with a notice when it is a sample."""
    n = len(eval_data)
    if cfg.eval_rows is None or n <= cfg.eval_rows or TASKS[cfg.task].kind == "squad":  # QA: every question
        return eval_data, ()
    idx = sorted(random.Random(cfg.seed).sample(range(n), cfg.eval_rows))
    note = Notice(f"Evaluated on a random sample of {cfg.eval_rows:,} of the {n:,} held-out rows (seed {cfg.seed}), "
                  "so that evaluation fits in the time limit.")
    return eval_data.subset(idx, f"{eval_data.name} (sample)"), (note,)


class _Stopped(Exception):
    pass


@contextlib.contextmanager
def _abort_if_stopped(stop, model):
    """While an evaluation runs, each forward pass of the run's own model (never the shared one) first checks the
    stop flag: a Stop ends the run within one batch, not after the whole held-out set."""
    def check(module, args):
        if stop is not None and stop.is_set():
            raise _Stopped
    handle = model.register_forward_pre_hook(check) if isinstance(model, torch.nn.Module) else None
    try:
        yield
    finally:
        if handle is not None:
            handle.remove()


class _Clock:
    """Wall time since the start, and the training throughput with evaluations left out."""

    def __init__(self, t0: float):
        self.t0, self.t_train, self.aside = t0, time.perf_counter(), 0.0

    def rate(self, seen: int, now: float) -> float:
        return seen / max(now - self.t_train - self.aside, 1e-9)

    def aside_from_training(self, fn, *args):
        te = time.perf_counter()
        out = fn(*args)
        self.aside += time.perf_counter() - te
        return out


class _EarlyStop:
    """Stop after `patience` evaluations without a better accuracy (never when patience is None)."""

    def __init__(self, patience: int | None):
        self.patience, self.best, self.bad = patience, -1.0, 0

    def should_stop(self, accuracy: float) -> bool:
        if not self.patience:
            return False
        self.best, self.bad = (accuracy, 0) if accuracy > self.best + 1e-9 else (self.best, self.bad + 1)
        return self.bad >= self.patience


# ---- the loop ---------------------------------------------------------------------------------

def _loop(bundle, train_data: LabelledData, eval_data: LabelledData, cfg: FinetuneConfig, stop) -> Iterator:
    t0 = time.perf_counter()
    configure_cpu_threads()
    device = _device(cfg, bundle)
    label = describe(device)
    torch.manual_seed(cfg.seed)
    eval_data, notices = eval_sample(eval_data, cfg)
    yield Phase(f"tokenizing {len(train_data):,} training and {len(eval_data):,} held-out rows…")
    task = head_class(cfg.task, cfg.mode)(bundle, train_data, eval_data, cfg, device)
    n = task.n_train  # training rows: examples (QA: windows of the passages)
    bs = min(cfg.batch_size, n)
    total = cfg.epochs * math.ceil(n / bs)
    yield Start(total, n, len(eval_data), _count(task.params), _count(task.model.parameters()), label)
    yield from task.prepare(_Deadline(stop, cfg, t0))
    if _stop_reason(stop, cfg, t0) is not None:
        raise PlaygroundError("The run ended while computing the [CLS] features (stopped or out of time): "
                              "raise the time limit or use less data.")
    opt = training.adamw(task.params, cfg.learning_rate, cfg.weight_decay, device)
    log_every = cfg.log_every or max(1, total // 300)
    eval_every = cfg.eval_every or max(1, math.ceil(total / 8))
    gen = torch.Generator().manual_seed(cfg.seed)
    losses, early, clock = training.RunningMean(1, device), _EarlyStop(cfg.patience), _Clock(t0)
    step = seen = 0
    stopped, metrics, history, evaluated = None, None, [], -1
    eval_s = None  # seconds of the last evaluation (kept back from the time limit for the final one)
    snaps = Snapshots(cfg.snapshots if hasattr(task.model, "config") else 0)
    snaps.add(0, task.model)  # 'before': the model as fine-tuning starts
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n, bs):
            if stopped := _stop_reason(stop, cfg, t0, _reserve(eval_s, len(eval_data), clock.rate(seen, time.perf_counter()))):
                break
            idx = perm[i:i + bs]
            lr = lr_at(step, total, cfg)
            training.set_lr(opt, lr)
            loss = task.loss(idx)
            training.step(opt, loss, task.params, task.clip)
            step, seen = step + 1, seen + len(idx)
            losses.add(loss)
            at = epoch + (i + len(idx)) / n  # fractional epoch
            if step % log_every == 0 or step == total:
                now = time.perf_counter()
                ev = Step(step, total, at, losses.read()[0], lr, clock.rate(seen, now), now - t0, label)
                history.append({"step": step, "epoch": round(at, 4), "loss": ev.loss, "lr": lr})
                yield ev
            if step % eval_every == 0 or step == total:
                yield Phase(f"evaluating on {len(eval_data):,} held-out rows…")
                te = time.perf_counter()
                try:
                    with _abort_if_stopped(stop, task.model):
                        metrics, evaluated = clock.aside_from_training(task.evaluate), step
                except _Stopped:  # Stop pressed (or the page gone) during an evaluation: end now, not after it
                    stopped = "stopped"
                    break
                eval_s = time.perf_counter() - te
                history.append({"step": step, "epoch": round(at, 4), "seconds": round(time.perf_counter() - t0, 3),
                                **metrics.row()})
                yield Evaluation(step, at, metrics)
                if early.should_stop(metrics.score):
                    stopped = "early stopping"
                    break
        if stopped:
            break
        snaps.add(epoch + 1, task.model)
    if stopped and step:
        snaps.add(round(step * bs / n, 2), task.model)  # where it stopped
    if stopped == "stopped":  # Stop pressed or the session ended: end now, no new evaluation
        notices += (_stopped_notice(step, total, evaluated if metrics is not None else None, bs, n),)
    elif metrics is None or evaluated != step:  # time limit (its evaluation was reserved) or the last step
        yield Phase(f"final evaluation on {len(eval_data):,} held-out rows…")
        metrics = task.evaluate()
        history.append({"step": step, "epoch": round(step * bs / n, 4), "seconds": round(time.perf_counter() - t0, 3),
                        **metrics.row()})
        yield Evaluation(step, step * bs / n, metrics)
    yield Done(FinetuneResult(
        classifier=task.predictor(), config=cfg, metrics=metrics,
        data_name=train_data.name, n_train=n, n_eval=len(eval_data),
        layers=None if cfg.mode == "baseline" else (cfg.layers or bundle.info.layers), steps=step,
        epochs=min(step * bs / n, cfg.epochs), seconds=time.perf_counter() - t0,
        examples_per_s=clock.rate(seen, time.perf_counter()), stopped=stopped, device=label, history=tuple(history),
        notices=notices, snapshots=snaps.frozen()))


def _stopped_notice(step: int, total: int, evaluated: int | None, bs: int, n: int) -> Notice:
    """What the scores of a stopped run are: the last evaluation's (the model trained on after it), or none."""
    if evaluated is None:
        return warning(f"Stopped at step {step:,} of {total:,}, before the first evaluation: there are no held-out "
                       "scores for this run (a stop ends the run at once, without a final evaluation).")
    if evaluated == step:
        return Notice(f"Stopped at step {step:,} of {total:,}, just after an evaluation: the scores are from it.")
    return warning(f"Stopped at step {step:,} of {total:,}: the scores are from the last evaluation, at step "
                   f"{evaluated:,} (epoch {evaluated * bs / n:.2f}); the model trained {step - evaluated:,} more "
                   "step(s) after it, which no evaluation saw (a stop ends the run at once, without a final one).")


def _reserve(eval_s: float | None, n_eval: int, train_rate: float) -> float:
    """Seconds to keep for the final evaluation: the last one's duration, or an estimate from the training rate
    (a forward pass costs about a third of a training step; count half, to be safe)."""
    if eval_s is not None:
        return eval_s
    return n_eval / max(train_rate, 1.0) / 2 if train_rate > 0 else 0.0
