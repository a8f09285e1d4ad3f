"""Which heads matter (Michel, Levy & Neubig 2019, "Are Sixteen Heads Really Better than One?"): every head's
context is multiplied by a gate xi = 1, and a head's importance is the expected |dL/dxi| of the masked-LM loss on a
small corpus (BERT's 15% masking, 80/10/10, the shared `masking.mask_tokens`); then the held-out MLM accuracy as heads
are switched off least important first (the paper's order: its Figure 3 prunes by increasing importance), against
random orders: the paper's pruning figure, for the loaded model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..checkpoints.models import model_inputs
from ..core.errors import PlaygroundError
from ..inputs.text import encode_batch
from ..objectives import masking
from ..objectives.mlm import require_mlm
from .hooks import Edits, intervening, layers
from .interventions import _mlm_logits

MAX_SENTENCES = 500
BATCH = 16  # sentences per forward (and backward) pass
RANDOM_SEEDS = 3


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    what: str


@dataclass(frozen=True)
class Importance:
    scores: np.ndarray  # (L, H): E|dL/dxi| per head
    pruning: tuple[dict, ...]  # {"pruned": k, "order": "importance" | "random", "seed": s, "mlm_accuracy": a}
    sentences: int
    masked: int  # tokens predicted per evaluation

    def to_dict(self) -> dict:
        """The CLI's `importance --json`."""
        return {"scores": self.scores.round(8).tolist(), "pruning": list(self.pruning), "sentences": self.sentences,
                "masked": self.masked}

    def ranked(self) -> list[tuple[int, int]]:
        """Every (layer, head), most important first."""
        order = np.argsort(-self.scores, axis=None, kind="stable")
        return [tuple(int(v) for v in np.unravel_index(i, self.scores.shape)) for i in order]


def reference_sentences() -> list[str]:
    """The default corpus: the sentences of the shipped NSP demo corpus (written for the playground, never trained
    on by the embedded checkpoint)."""
    from ..objectives.nsp import demo_documents

    return [s for d in demo_documents() for s in d.sentences]


def masked_batches(bundle, sentences: list[str], seed: int = 0, rate: float = 0.15) -> list[tuple[dict, torch.Tensor]]:
    """The corpus as (inputs, labels) batches with one fixed 80/10/10 draw: every evaluation scores the same masks."""
    require_mlm(bundle)
    sentences = [s for s in (str(x).strip() for x in sentences) if s][:MAX_SENTENCES]
    if len(sentences) < 2:
        raise PlaygroundError("Give at least two sentences to measure the heads on.")
    tok, gen = bundle.tokenizer, masking.make_generator(seed)
    special = torch.tensor(masking.special_ids(tok))
    out = []
    for i in range(0, len(sentences), BATCH):
        enc = encode_batch(tok, sentences[i:i + BATCH], limit=128)
        sp = torch.isin(enc["input_ids"], special) | (enc["attention_mask"] == 0)
        mb = masking.mask_tokens(enc["input_ids"], sp, mask_token_id=tok.mask_token_id, vocab_size=len(tok),
                                 config=masking.MaskingConfig(rate=rate), generator=gen)
        out.append(({**enc, "input_ids": mb.input_ids}, mb.labels))
    return out


def _loss_and_hits(bundle, batch: dict, labels: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    logits = _mlm_logits(bundle, model_inputs(bundle, batch))  # (B, T, V)
    labels = labels.to(logits.device)
    chosen = labels != masking.IGNORE
    loss = F.cross_entropy(logits[chosen].float(), labels[chosen]) if chosen.any() else logits.sum() * 0
    hits = int((logits[chosen].argmax(-1) == labels[chosen]).sum())
    return loss, hits, int(chosen.sum())


def head_scores(bundle, batches) -> Iterator[Progress | np.ndarray]:
    """Progress, then the (L, H) importance: the mean over batches of |dL/dxi| at xi = 1 (no weight of the shared
    model gets a gradient: only the gates are differentiated)."""
    n_layers, n_heads = len(layers(bundle)), bundle.info.heads
    total = torch.zeros(n_layers, n_heads)
    for k, (batch, labels) in enumerate(batches):
        gates = torch.ones(n_layers, n_heads, device=bundle.device, requires_grad=True)
        with torch.enable_grad(), intervening(bundle, Edits(gates=gates)):
            loss, _, _ = _loss_and_hits(bundle, batch, labels)
            (grad,) = torch.autograd.grad(loss, gates)
        total += grad.abs().cpu()
        yield Progress(k + 1, len(batches), "importance")
    yield (total / max(1, len(batches))).numpy()


@torch.inference_mode()
def mlm_accuracy(bundle, batches, heads_off: list[tuple[int, int]] = ()) -> tuple[float, int]:
    """(held-out MLM accuracy, tokens predicted) with `heads_off` switched off (zero ablation)."""
    edits = Edits()
    for layer, head in heads_off:
        edits.heads_off.setdefault(layer, []).append(head)
    hits = n = 0
    with intervening(bundle, edits):
        for batch, labels in batches:
            _, h, m = _loss_and_hits(bundle, batch, labels)
            hits, n = hits + h, n + m
    return hits / max(1, n), n


def importance(bundle, sentences: list[str], steps: int = 8, seed: int = 0) -> Iterator[Progress | Importance]:
    """Progress events, then the `Importance`: the scores, and the pruning curves (least important head first, and
    RANDOM_SEEDS random orders) at `steps` + 1 points from no head to all but one switched off."""
    batches = masked_batches(bundle, sentences, seed)
    scores = None
    for ev in head_scores(bundle, batches):
        if isinstance(ev, np.ndarray):
            scores = ev
        else:
            yield ev
    n_layers, n_heads = scores.shape
    ranked = [tuple(int(v) for v in np.unravel_index(i, scores.shape)) for i in np.argsort(-scores, axis=None, kind="stable")]
    counts = sorted({round(k * (n_layers * n_heads - 1) / steps) for k in range(steps + 1)})
    orders = [("importance", None, ranked[::-1])] + [  # least important first
        ("random", s, [ranked[i] for i in np.random.default_rng(s).permutation(len(ranked))]) for s in range(RANDOM_SEEDS)]
    curve, done, n = [], 0, 0
    for name, s, order in orders:
        for k in counts:
            acc, n = mlm_accuracy(bundle, batches, order[:k])
            curve.append({"pruned": k, "order": name, **({"seed": s} if s is not None else {}), "mlm_accuracy": acc})
            done += 1
            yield Progress(done, len(orders) * len(counts), "pruning")
    yield Importance(scores, tuple(curve), sum(len(b[0]["input_ids"]) for b in batches), n)
