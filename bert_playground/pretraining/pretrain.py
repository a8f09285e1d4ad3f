"""Pre-training BERT on MLM + NSP with the playground's own masking and pair-building code.

Pipeline: read WikiExtractor text -> sentences -> WordPiece ids (once, batched) -> NSP pairs
per epoch (`pairs.make_pairs`, new pairs each epoch) packed into fixed-length tensors off the
hot path -> batches corrupted on the device with `masking.mask_tokens` (dynamic masking) ->
`BertForPreTraining` trunk, the MLM head evaluated only at the chosen positions, the NSP head
on the pooled [CLS] (with `pair_keep`, also pulled towards the frozen starting checkpoint's answers on the same
batch: `model.pair_keep_loss`). Warm-up then linear decay over steps or wall time, gradient clipping, bf16
autocast on CUDA, AdamW and counters read without a per-step GPU sync: all from `training.py`, the
core fine-tuning uses too. `pretrain()` = `_setup`, then `_epoch` (each `_train_step`, `_log_line`,
`_snapshot`), then `_finish`.

Under `torchrun` (see `distributed.py`) the same loop runs on every rank: its own shard of the documents, its own
pair and masking seed, the loss module wrapped in `DistributedDataParallel`; rank 0 alone evaluates, logs and saves.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import BertForPreTraining

from ..core import training
from ..core.device import describe
from ..core.errors import PlaygroundError
from ..inputs.corpus import corpus_files
from ..objectives import masking
from . import distributed
from .config import (EVAL_RATE, PAIR_TASKS, PRECISIONS, PRESETS, SAVE_DTYPES, PretrainConfig,  # noqa: F401
                     TrainState, lr_factor)
from .data import (PackedPairs, epoch_pair_list, epoch_pairs, held_out_pairs, length_grouped_batches,  # noqa: F401
                   load_corpus, pack_pairs, tokenize_documents, unigram_token)
from .model import (PretrainLoss, attention_maps, build_model, continuation_table, corrupt, evaluate,  # noqa: F401
                    freeze_lower, load_state, losses, minilm_dir, probe_guesses, save_checkpoint)
from .training_log import read_training_log  # noqa: F401 (pretrain.read_training_log stays importable)


def check_pair_head(cfg: PretrainConfig) -> None:
    """A pair task continued from a checkpoint folder needs the folder's pair head (MiniLM and scratch start fresh)."""
    if cfg.pair_task == "none" or cfg.init in ("minilm", "scratch") or not Path(cfg.init).is_dir():
        return
    from ..checkpoints.folders import _safetensors_files, weight_keys

    try:
        keys, _ = weight_keys(_safetensors_files(Path(cfg.init)))
    except Exception:  # noqa: BLE001 (an unreadable folder: the load says why)
        return
    if not any(k.startswith("cls.seq_relationship.") for k in keys):
        raise PlaygroundError(f"--init '{cfg.init}' has no sentence-pair head, so --pair-task {cfg.pair_task} would "
                              "train one from random weights on top of it: use --pair-task none, or --init minilm.")


def _log(obj: dict, run=None) -> None:
    if run is not None and run.on_event is not None:
        run.on_event(obj)
    else:
        print(json.dumps(obj), file=sys.stderr, flush=True)


def pretrain(cfg: PretrainConfig, resume: bool = False, stop=None, on_event=None) -> dict:
    """Pre-train on MLM + NSP until the step, time or epoch budget is spent (or `stop`, an Event, is set); returns
    the run's figures. `on_event` (the Pre-training lab) receives every log row and snapshot as it happens, instead
    of their lines on stderr."""
    for pattern in (cfg.corpus, cfg.eval_corpus):  # the text is checked before any model is built or loaded
        if pattern:
            corpus_files(pattern)
    check_pair_head(cfg)
    run = _setup(cfg, resume)
    run.stop, run.on_event = stop, on_event
    try:
        epoch = run.state.epoch
        for epoch in range(run.state.epoch, run.state.epoch + cfg.epochs):
            if _epoch(run, epoch):
                break
        return _finish(run, epoch)
    finally:
        distributed.teardown(run.world)


@dataclass
class _Run:
    """What one call of `pretrain` works with: model, data, optimiser, clocks and device-side counters."""
    cfg: PretrainConfig
    device: torch.device
    out: Path
    model: BertForPreTraining
    tokenizer: object
    state: TrainState
    train_ids: list
    eval_packed: PackedPairs
    opt: torch.optim.Optimizer
    params: list
    special: torch.Tensor  # ids never masked
    start_step: int
    world: distributed.World  # rank and size (a world of one in a plain run)
    loss_fn: torch.nn.Module  # PretrainLoss, inside DistributedDataParallel when there are several ranks
    start_time: float = field(default_factory=time.time)
    last_save: float = field(default_factory=time.time)
    last_log_t: float = field(default_factory=time.time)
    last_log_tokens: int = 0
    aside: float = 0.0  # seconds spent on held-out evaluations and checkpoint saves, not training
    tokens: torch.Tensor | None = None  # (), tokens trained on in this run, on the device
    losses: training.RunningMean | None = None  # mlm, nsp since the last log line
    continues: torch.Tensor | None = None  # (V,) bool, pieces that continue a word (whole-word masking)
    unigram_id: int | None = None  # the training text's most frequent token: the baseline's guess
    snapshots: list = field(default_factory=list)  # what each snapshot recorded (the result's `snapshots`)
    stop: object = None  # a threading.Event that ends the run (the lab's Stop button)
    on_event: object = None  # a callback for log rows and snapshots (else: lines on stderr)

    def elapsed(self) -> float:
        return time.time() - self.start_time


def _setup(cfg: PretrainConfig, resume: bool) -> _Run:
    """Model (fresh, from a checkpoint or resumed), tokenized corpus, held-out pairs and the optimiser."""
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank (DDP also copies rank 0's)
    world = distributed.setup(cfg.device)
    device = world.device
    out = Path(cfg.out)
    init = str(out) if resume and (out / "config.json").is_file() else cfg.init
    model, tokenizer = build_model(init, cfg.preset, device)
    state = load_state(out) if resume else TrainState()
    freeze_lower(model, cfg.train_layers)
    t0 = time.time()
    train_ids, eval_ids = load_corpus(cfg, tokenizer, world)
    eval_packed = held_out_pairs(eval_ids, tokenizer, cfg)
    unigram = unigram_token(train_ids, tokenizer)
    counts = distributed.sum_(torch.tensor([len(train_ids), sum(len(s) for d in train_ids for s in d)],
                                           device=device), world).tolist()  # over all ranks
    if world.main:
        _log({"event": "data", "train_docs": counts[0], "train_tokens": counts[1],
              "eval_pairs": len(eval_packed.next_label), "seconds": round(time.time() - t0, 1),
              "device": describe(device), "world_size": world.size, "global_batch_size": cfg.batch_size * world.size})
    params = [p for p in model.parameters() if p.requires_grad]
    opt = training.adamw(params, cfg.lr, cfg.weight_decay, device, betas=(0.9, 0.98), eps=1e-6)
    special = torch.tensor(masking.special_ids(tokenizer), device=device)
    model.train()
    teacher = build_model(cfg.init, cfg.preset, device)[0] if cfg.pair_keep else None
    loss_fn = distributed.wrap(PretrainLoss(model, teacher), world)  # teacher: the start, kept (`pair_keep`)
    return _Run(cfg, device, out, model, tokenizer, state, train_ids, eval_packed, opt, params, special, state.step,
                world, loss_fn, tokens=torch.zeros((), dtype=torch.long, device=device), losses=training.RunningMean(2, device),
                continues=continuation_table(tokenizer, device) if cfg.whole_word else None, unigram_id=unigram)


def _epoch(run: _Run, epoch: int) -> bool:
    """One pass over fresh pairs; True when a step or time budget ended the run."""
    cfg, world = run.cfg, run.world
    seed = distributed.rank_seed(cfg.seed, world.rank)  # this rank's own pairs and masks
    copy = epoch % cfg.static_masking if cfg.static_masking else epoch  # static: the same N copies, again and again
    data = epoch_pairs(run.train_ids, run.tokenizer, cfg.seq_len, seed, copy, cfg.short_seq_prob,
                       cfg.sentence_pair_prob, cfg.pair_task, cfg.near_negative_prob, cfg.person_matched_prob)
    data = PackedPairs(*(t.to(run.device, non_blocking=True) for t in (data.input_ids, data.token_type_ids,
                                                                        data.attention_mask, data.next_label)))
    gen = masking.make_generator(masking.epoch_seed(seed, copy, dynamic=True), run.device)
    n_batches = distributed.min_int(len(data.next_label) // cfg.batch_size, world)  # the same on every rank
    if run.state.step == run.start_step and cfg.snapshot_every and not run.snapshots:
        _record_snapshot(run)  # step 0: what the model guesses before any training
    for rows in _batch_rows(data, cfg, n_batches, seed * 31 + copy):
        step_local = run.state.step - run.start_step
        out_of_time, save_due = distributed.agree(
            [bool(cfg.max_seconds and run.elapsed() >= cfg.max_seconds) or bool(run.stop and run.stop.is_set()),
             time.time() - run.last_save > cfg.save_every_seconds], world)
        if (cfg.max_steps and step_local >= cfg.max_steps) or out_of_time:
            return True
        if save_due:
            _periodic_save(run, epoch)
        width = _batch_width(data.attention_mask[rows], cfg) if cfg.group_by_length else cfg.seq_len
        batch = {"input_ids": data.input_ids[rows, :width], "token_type_ids": data.token_type_ids[rows, :width],
                 "attention_mask": data.attention_mask[rows, :width]}
        _train_step(run, batch, data.next_label[rows], gen, step_local)
        if run.state.step % cfg.log_every == 0 or run.state.step % cfg.eval_every == 0:
            _log_line(run, epoch)
        if cfg.snapshot_every and run.state.step % cfg.snapshot_every == 0 and run.world.main:
            _record_snapshot(run)
    return False


def _record_snapshot(run: _Run) -> None:
    """The model as it is now: held-out accuracies, the probes' top-3 (the result's `snapshots`), and for a
    listener the attention maps of the first probe (not kept in the result)."""
    t0, cfg = time.time(), run.cfg
    ev = evaluate(run.model, run.tokenizer, run.eval_packed, run.device, EVAL_RATE)
    snap = {"step": run.state.step, "tokens": run.state.tokens_seen + int(run.tokens), "mlm_accuracy": ev["mlm_accuracy"],
            "pair_accuracy": ev["nsp_accuracy"] if cfg.pair_task != "none" else None,
            "probes": probe_guesses(run.model, run.tokenizer, cfg.probes, run.device)}
    run.snapshots.append(snap)
    if run.on_event is not None:
        maps = attention_maps(run.model, run.tokenizer, cfg.probes[0], run.device) if cfg.probes else None
        run.on_event({"event": "snapshot", **snap, "attention": maps})
    run.aside += time.time() - t0


def _batch_rows(data: PackedPairs, cfg: PretrainConfig, n_batches: int, seed: int):
    """Each batch's rows: consecutive slices, or length-grouped index tensors (`cfg.group_by_length`)."""
    if not cfg.group_by_length:
        return [slice(i, i + cfg.batch_size) for i in range(0, n_batches * cfg.batch_size, cfg.batch_size)]
    return length_grouped_batches(data.attention_mask.sum(1).cpu(), cfg.batch_size, seed)[:n_batches]


def _batch_width(attention_mask: torch.Tensor, cfg: PretrainConfig, multiple: int = 16) -> int:
    """The batch's longest row rounded up to a multiple of 16 (at most `seq_len`): a few distinct shapes, so the
    CPU's oneDNN kernels (built once per shape under bf16 autocast) are reused instead of rebuilt every step."""
    longest = int(attention_mask.sum(1).max())
    return min(cfg.seq_len, -(-longest // multiple) * multiple)


def _periodic_save(run: _Run, epoch: int) -> None:
    t_save = time.time()
    _snapshot(run, epoch)
    run.last_save = time.time()
    run.aside += run.last_save - t_save
    run.last_log_t += run.last_save - t_save


def _train_step(run: _Run, batch: dict, next_label: torch.Tensor, gen, step_local: int) -> None:
    """Mask the batch on the device, then one optimisation step on MLM + NSP; no device sync."""
    cfg = run.cfg
    mb = corrupt(batch, run.tokenizer, run.special, gen, cfg.masking(), run.continues)
    batch = {**batch, "input_ids": mb.input_ids}
    training.set_lr(run.opt, cfg.lr * lr_factor(step_local, run.elapsed(), cfg))
    with training.autocast(run.device, cfg.precision):
        mlm, nsp, *_, keep = run.loss_fn(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"],
                                         mb.labels, next_label)
    pair = nsp + cfg.pair_keep * keep if cfg.pair_task != "none" else 0.0 * nsp
    training.step(run.opt, mlm + pair, run.params, clip=1.0)
    run.state.step += 1
    run.tokens += batch["attention_mask"].sum()
    run.losses.add(mlm, nsp)


def _log_line(run: _Run, epoch: int) -> None:
    """One row of the training log (one device sync; losses and tokens over all ranks), with a held-out evaluation
    every `eval_every` steps; rank 0 alone evaluates and writes it."""
    cfg, state = run.cfg, run.state
    distributed.sum_(run.losses.sums, run.world)
    mlm, nsp = run.losses.read()
    toks = _global_tokens(run)
    now = time.time()
    if not run.world.main:
        run.last_log_t, run.last_log_tokens = now, toks
        return
    row = {"step": state.step, "epoch": epoch, "elapsed_s": round(state.elapsed + run.elapsed(), 1),
           "tokens_seen": state.tokens_seen + toks, "lr": run.opt.param_groups[0]["lr"],
           "mlm_loss": mlm, "nsp_loss": nsp,
           "tokens_per_s": (toks - run.last_log_tokens) / max(now - run.last_log_t, 1e-9),
           "world_size": run.world.size, "global_batch_size": cfg.batch_size * run.world.size}
    if state.step % cfg.eval_every == 0:
        ev = evaluate(run.model, run.tokenizer, run.eval_packed, run.device, EVAL_RATE)
        row.update({"eval_mlm_accuracy": ev["mlm_accuracy"],
                     "eval_nsp_accuracy": ev["nsp_accuracy"] if cfg.pair_task != "none" else ""})
    state.history.append(row)
    _log(row, run)
    run.last_log_t, run.last_log_tokens = time.time(), toks  # the next interval's rate leaves the evaluation out
    run.aside += run.last_log_t - now


def _global_tokens(run: _Run) -> int:
    """Tokens trained on in this run by all ranks (a collective: every rank calls it at the same step)."""
    return int(distributed.sum_(run.tokens.clone(), run.world))


def _finish(run: _Run, epoch: int) -> dict | None:
    """Final held-out evaluation, the last checkpoint and pretrain_result.json (rank 0; the other ranks get None)."""
    cfg = run.cfg
    toks = _global_tokens(run)
    if not run.world.main:
        return None
    train_seconds = run.elapsed() - run.aside
    final_eval = evaluate(run.model, run.tokenizer, run.eval_packed, run.device, EVAL_RATE, unigram_id=run.unigram_id)
    unigram = final_eval.pop("unigram_accuracy")
    if cfg.pair_task == "none":
        final_eval["nsp_accuracy"] = None
    wall = run.elapsed()
    snap = _snapshot(run, epoch, wall, final=final_eval, tokens=toks)
    result = {"out": str(run.out), "device": describe(run.device), "precision": cfg.precision, "steps": snap.step,
              "world_size": run.world.size, "global_batch_size": cfg.batch_size * run.world.size,
              "tokens_seen": snap.tokens_seen,
              "run_seconds": round(wall, 1), "run_tokens": toks, "tokens_per_s": toks / max(wall, 1e-9),
              "train_seconds": round(train_seconds, 1), "train_tokens_per_s": toks / max(train_seconds, 1e-9),
              "total_seconds": round(snap.elapsed, 1), **{f"eval_{k}": v for k, v in final_eval.items()},
              "recipe": cfg.recipe(), "unigram_baseline_accuracy": unigram, "snapshots": run.snapshots}
    (run.out / "pretrain_result.json").write_text(json.dumps(result, indent=1))
    return result


def _snapshot(run: _Run, epoch: int, run_seconds: float | None = None, final: dict | None = None,
              tokens: int | None = None) -> TrainState:
    """Save the checkpoint as of now (the run's state is left as it is; rank 0 writes); returns the state saved.
    Without `tokens` it counts them over all ranks, so every rank must call it."""
    state = run.state
    tokens = _global_tokens(run) if tokens is None else tokens
    snap = TrainState(step=state.step, epoch=epoch, tokens_seen=state.tokens_seen + tokens,
                      elapsed=state.elapsed + (run.elapsed() if run_seconds is None else run_seconds),
                      history=list(state.history))
    if final is not None:
        snap.history.append({"step": state.step, "epoch": epoch, "elapsed_s": round(snap.elapsed, 1),
                             "tokens_seen": snap.tokens_seen,
                             "eval_mlm_accuracy": final["mlm_accuracy"], "eval_nsp_accuracy": final["nsp_accuracy"]})
    if run.world.main:
        save_checkpoint(run.model, run.tokenizer, run.out, snap, run.cfg)
    return snap
