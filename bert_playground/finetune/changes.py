"""What fine-tuning changed: the model rebuilt at each epoch snapshot and read back on one input.

Attention maps of a layer/head before vs after, the final-layer [CLS] vectors of held-out examples projected to
2-D (clusters forming as training goes), and the checkpoint's own MLM head reading the fine-tuned encoder on a
fixed cloze sentence (catastrophic forgetting made visible). Snapshots are CPU copies (`snapshots.py`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.errors import PlaygroundError
from ..inputs.text import clean_text
from .tasks import TASKS

CLOZE = "The capital of France is [MASK]."
MAX_POINTS = 300  # held-out examples drawn in the [CLS] projection


def epochs(result) -> list[float]:
    return [e for e, _ in result.snapshots]


_BUILT: dict[tuple[int, int], torch.nn.Module] = {}  # (id of the snapshot's state dict, k) -> model; a few only


def model_at(result, k: int) -> torch.nn.Module:
    """The fine-tuned model as it was at snapshot k (0: before training), on the CPU, with eager attention.
    Read-only: the last few rebuilt models are kept, so redrawing a view does not rebuild them."""
    if not result.snapshots:
        raise PlaygroundError("This run kept no snapshots: turn on 'keep a snapshot after each epoch' and train again.")
    if not 0 <= k < len(result.snapshots):
        raise PlaygroundError(f"Snapshot {k} does not exist; this run has {len(result.snapshots)}.")
    key = (id(result.snapshots[k][1]), k)
    if key not in _BUILT:
        live = result.classifier.model
        model = type(live)._from_config(live.config, attn_implementation="eager", dtype=torch.float32)
        model.load_state_dict(result.snapshots[k][1])
        while len(_BUILT) >= 4:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = model.eval()
    return _BUILT[key]


def _inputs(tokenizer, text: str, text_b: str | None, max_length: int) -> dict:
    return tokenizer(clean_text(text, "The text"), clean_text(text_b, "The second sentence") if text_b else None,
                     truncation=True, max_length=max_length, return_tensors="pt")


@dataclass(frozen=True)
class AttentionChange:
    tokens: list[str]
    before: np.ndarray  # (L, H, T, T) at snapshot `a`
    after: np.ndarray  # (L, H, T, T) at snapshot `b`

    @property
    def difference(self) -> np.ndarray:
        return self.after - self.before  # (L, H, T, T)

    def largest_change(self, layer: int, head: int) -> float:
        """The largest |after - before| of any attention weight of one head."""
        return float(np.abs(self.difference[layer, head]).max())


@torch.no_grad()
def attention_change(result, a: int, b: int, text: str, text_b: str | None = None) -> AttentionChange:
    """Every attention map of the input at snapshots a and b (rows sum to 1)."""
    tok = result.classifier.tokenizer
    enc = _inputs(tok, text, text_b, result.classifier.max_length)
    maps = []
    for k in (a, b):
        out = model_at(result, k).base_model(**enc, output_attentions=True)
        maps.append(torch.stack(out.attentions)[:, 0].numpy())  # (L, H, T, T)
    return AttentionChange(tok.convert_ids_to_tokens(enc["input_ids"][0].tolist()), maps[0], maps[1])


def project_2d(vectors: np.ndarray) -> np.ndarray:
    """(N, D) -> (N, 2): the two principal components (centred, SVD), signs fixed so the views do not flip."""
    x = vectors - vectors.mean(0, keepdims=True)
    if len(x) < 2:
        return np.zeros((len(x), 2))
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    comps = vt[:2]
    comps = comps * np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(1)])[:, None]
    out = x @ comps.T
    return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


@torch.no_grad()
def cls_vectors(result, k: int, texts, pairs=None, batch_size: int = 64) -> np.ndarray:
    """(N, D) final-layer [CLS] vectors of the texts (pairs) at snapshot k."""
    if TASKS[result.config.task].kind != "table":
        raise PlaygroundError("The [CLS] projection is drawn for sequence tasks (classify, pairs).")
    model, tok = model_at(result, k), result.classifier.tokenizer
    texts = list(texts)[:MAX_POINTS]
    pairs = list(pairs)[:MAX_POINTS] if pairs is not None else None
    out = []
    for i in range(0, len(texts), batch_size):
        enc = tok(texts[i:i + batch_size], pairs[i:i + batch_size] if pairs else None, truncation=True,
                  max_length=result.classifier.max_length, padding=True, return_tensors="pt")
        out.append(model.base_model(**enc).last_hidden_state[:, 0].numpy())  # (B, D)
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size))


@dataclass(frozen=True)
class ClozeGuesses:
    sentence: str
    tokens: list[str]  # top guesses at the [MASK], most probable first
    probabilities: list[float]


@torch.no_grad()
def cloze(result, k: int, bundle, sentence: str = CLOZE, top_k: int = 5) -> ClozeGuesses:
    """The checkpoint's MLM head (unchanged) on the encoder at snapshot k: its top guesses at the [MASK]."""
    head = getattr(getattr(bundle.model, "cls", None), "predictions", None)
    if head is None:
        raise PlaygroundError(f"The checkpoint '{bundle.info.name}' has no masked-LM head, so there are no guesses "
                              "to compare.")
    tok = result.classifier.tokenizer
    enc = tok(clean_text(sentence, "The cloze sentence"), return_tensors="pt")
    where = (enc["input_ids"][0] == tok.mask_token_id).nonzero().flatten()
    if len(where) != 1:
        raise PlaygroundError(f"The cloze sentence needs exactly one {tok.mask_token}.")
    h = model_at(result, k).base_model(**enc).last_hidden_state[0, where]  # (1, D)
    p = torch.softmax(head(h.to(bundle.device)).float().cpu()[0], -1)  # (V,)
    top = torch.topk(p, top_k)
    return ClozeGuesses(sentence, tok.convert_ids_to_tokens(top.indices.tolist()), top.values.tolist())
