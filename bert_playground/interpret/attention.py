"""Attention maps read from the model's own forward pass, and a few ways to summarise them.

Conventions: maps are float32 arrays (L, H, T, T). Row i is the query token i ("from"), column j
the key token j it attends to ("to"); each row is a softmax, so it sums to 1. For a pair, sentence A
is positions [0, b) -- `[CLS] A [SEP]` -- and sentence B is [b, T) -- `B [SEP]` -- with
b = sentence_b_start. Block "A->B" is rows of A, columns of B: how much A's tokens look at B.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoints.models import forward
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..inputs.text import Encoding, clean_text, encode_ids, max_length, typed_specials, typed_specials_notice

BLOCKS = ("A->A", "A->B", "B->A", "B->B")


@dataclass(frozen=True, eq=False)
class AttentionMaps:
    """Every attention probability of one input. Pickles (for st.cache_data); treat as read-only."""

    model: str
    tokens: tuple[str, ...]
    sentence_b_start: int | None  # index of B's first token, None for a single text
    attentions: np.ndarray  # (L, H, T, T) float32, rows sum to 1
    truncated: bool  # the input was cut to the model's maximum length
    full_length: int  # tokens before truncation
    causal: bool  # True: run with a left-to-right mask (lower-triangular maps)
    cls_index: int | None  # position of [CLS] (0 for BERT), None when absent
    sep_indices: tuple[int, ...]  # positions of [SEP]
    notices: tuple[Notice, ...] = ()  # how the input was read, for the user (page and CLI show them)

    @property
    def layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def heads(self) -> int:
        return self.attentions.shape[1]

    @property
    def length(self) -> int:
        return self.attentions.shape[-1]

    def to_dict(self) -> dict:
        """The CLI's `attention --json`: every weight, (L, H, T, T), rounded to 8 decimals (float32 carries ~7:
        rows still sum to 1 within 1e-5)."""
        return {"model": self.model, "tokens": list(self.tokens), "sentence_b_start": self.sentence_b_start,
                "attentions": np.round(self.attentions.astype(np.float64), 8).tolist()}


# ---- computing the maps -------------------------------------------------------------------

def read_input(bundle, text_a: str, text_b: str | None = None) -> tuple[Encoding, list[Notice]]:
    """Clean and encode; an empty sentence B turns the input into a single text (with a note)."""
    notes = []
    a = clean_text(text_a, "Sentence A")
    b = None
    if text_b is not None:
        try:
            b = clean_text(text_b, "Sentence B")
        except PlaygroundError:
            if not isinstance(text_b, str):
                raise
            notes.append(Notice("Sentence B is empty, so the input is read as a single text (no A/B blocks)."))
    enc = encode_ids(bundle.tokenizer, a, b, max_length(bundle))
    if typed := typed_specials_notice(typed_specials(bundle.tokenizer, a, b)):
        notes.append(warning(typed))
    if enc.truncated:
        notes.append(warning(f"The input has {enc.full_length} tokens; this model reads at most {len(enc)}, so it was cut "
                     f"to {len(enc)} (the longer sentence first). The maps are those of the tokens kept."))
    if sum(w is not None for w in enc.word_ids) <= 1:
        notes.append(Notice(f"The text is a single token, so each map is only {len(enc)} x {len(enc)} "
                     "([CLS], the token, [SEP]); type a sentence to see attention patterns."))
    return enc, notes


def family_notes(bundle, length: int) -> list[Notice]:
    """What differs in this family's attention, one sentence each (ModernBERT's local layers and rotary positions)."""
    cfg, fam = bundle.encoder.config, bundle.family
    out = []
    if fam.model_type == "modernbert":
        window = getattr(cfg, "local_attention", None)
        local = [i + 1 for i, t in enumerate(getattr(cfg, "layer_types", None) or []) if t == "sliding_attention"]
        if local and window:
            out.append(Notice(f"ModernBERT alternates global and local attention: in layers {', '.join(map(str, local))} "
                              f"each token sees only tokens within {window // 2} positions"
                              + (" (this input is shorter, so they look global)." if length <= window // 2 + 1 else ".")))
        out.append(Notice("Positions enter as rotations of queries and keys (rotary), not as added embeddings."))
    if fam.model_type == "albert":
        out.append(Notice("ALBERT shares one set of layer weights across all its layers: each layer is the same "
                          "function applied again, so the maps still differ layer to layer."))
    return out


def causal_mask(length: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Additive left-to-right mask (1, 1, T, T): 0 on and below the diagonal, the dtype's minimum above.

    transformers passes a 4D mask to the attention as it is (masking_utils returns it unchanged) and the
    eager attention adds it to the scores before the softmax, so the weights above the diagonal are 0."""
    upper = torch.ones(length, length, dtype=torch.bool).triu(1)  # (T, T) True = a token to the right
    mask = torch.zeros(length, length, dtype=dtype).masked_fill(upper, torch.finfo(dtype).min)
    return mask[None, None]  # (1, 1, T, T)


def compute(bundle, text_a: str, text_b: str | None = None, causal: bool = False) -> AttentionMaps:
    """All attention maps of one text or pair, from one forward pass of the model (eager attention)."""
    enc, notes = read_input(bundle, text_a, text_b)
    batch = enc.tensors()
    if causal:
        dtype = next(bundle.model.parameters()).dtype
        batch["attention_mask"] = causal_mask(len(enc), dtype)
    notes += family_notes(bundle, len(enc))
    out = forward(bundle, batch, attentions=True, mlm=False)
    att = torch.stack([a[0] for a in out.attentions])  # L x (1, H, T, T) -> (L, H, T, T)
    tok = bundle.tokenizer
    ids = enc.input_ids
    return AttentionMaps(
        model=bundle.info.name, tokens=tuple(enc.tokens), sentence_b_start=enc.sentence_b_start,
        attentions=att.float().cpu().numpy(), truncated=enc.truncated, full_length=enc.full_length,
        causal=causal, cls_index=ids.index(tok.cls_token_id) if tok.cls_token_id in ids else None,
        sep_indices=tuple(i for i, t in enumerate(ids) if t == tok.sep_token_id), notices=tuple(notes),
    )


# ---- views ------------------------------------------------------------------------------

def block_ranges(length: int, b_start: int | None) -> dict[str, tuple[range, range]]:
    """Row (from) and column (to) positions of the A->A, A->B, B->A, B->B blocks."""
    if b_start is None or not 0 < b_start < length:
        raise PlaygroundError("The A/B blocks need a pair of sentences: type a sentence B.")
    part = {"A": range(0, b_start), "B": range(b_start, length)}
    return {name: (part[name[0]], part[name[-1]]) for name in BLOCKS}


def blocks(matrix: np.ndarray, b_start: int | None) -> dict[str, np.ndarray]:
    """Split (..., T, T) maps into the four blocks (..., rows of X, columns of Y)."""
    return {name: matrix[..., r.start:r.stop, c.start:c.stop]
            for name, (r, c) in block_ranges(matrix.shape[-1], b_start).items()}


@dataclass(frozen=True, eq=False)
class View:
    matrix: np.ndarray  # (R, C) weights
    rows: np.ndarray  # (R,) token positions of the rows (from)
    cols: np.ndarray  # (C,) token positions of the columns (to)


def view(maps: AttentionMaps, layer: int, head: int | None = None, block: str = "all",
         span: tuple[int, int] | None = None) -> View:
    """One map: layer (0-based), head (None = mean over heads), a block of a pair, and/or positions [s, e)."""
    if not 0 <= layer < maps.layers:
        raise PlaygroundError(f"Layer {layer + 1} does not exist: the model has {maps.layers}.")
    if head is not None and not 0 <= head < maps.heads:
        raise PlaygroundError(f"Head {head + 1} does not exist: the model has {maps.heads} per layer.")
    full = maps.attentions[layer, head] if head is not None else maps.attentions[layer].mean(axis=0)  # (T, T)
    rows = cols = range(maps.length)
    if block != "all":
        if block not in BLOCKS:
            raise PlaygroundError(f"Unknown block '{block}': use one of {', '.join(BLOCKS)}.")
        rows, cols = block_ranges(maps.length, maps.sentence_b_start)[block]
    return crop(full, rows, cols, span)


def crop(matrix: np.ndarray, rows: range | None = None, cols: range | None = None,
         span: tuple[int, int] | None = None) -> View:
    """Rows x cols of a (T, T) map, each cut to the positions [s, e) of `span` when given."""
    t = matrix.shape[-1]
    rows, cols = range(t) if rows is None else rows, range(t) if cols is None else cols
    if span is not None:
        s, e = max(0, span[0]), min(t, span[1])
        rows, cols = range(max(rows.start, s), min(rows.stop, e)), range(max(cols.start, s), min(cols.stop, e))
    if not rows or not cols:
        raise PlaygroundError("Nothing to show: the token range does not overlap this block; widen the range.")
    return View(matrix[rows.start:rows.stop, cols.start:cols.stop], np.arange(rows.start, rows.stop),
                np.arange(cols.start, cols.stop))


def pool(matrix: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Shrink (..., T, T) maps to at most (..., bins, bins) for thumbnails: rows are averaged and columns
    summed within each group of consecutive tokens, so pooled rows still sum to 1. Returns (pooled, edges)."""
    t = matrix.shape[-1]
    edges = np.unique(np.linspace(0, t, min(bins, t) + 1).round().astype(int))  # (G+1,)
    summed = np.add.reduceat(np.add.reduceat(matrix, edges[:-1], axis=-1), edges[:-1], axis=-2)  # (..., G, G)
    return summed / np.diff(edges)[:, None], edges


def thumbnails(maps: AttentionMaps, span: tuple[int, int] | None = None, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Every layer and head of positions [s, e), pooled to at most bins x bins: ((L, H, G, G), edges + s)."""
    s, e = (0, maps.length) if span is None else (max(0, span[0]), min(maps.length, span[1]))
    if e <= s:
        raise PlaygroundError("The token range is empty: widen it.")
    pooled, edges = pool(maps.attentions[:, :, s:e, s:e], bins)  # (L, H, G, G)
    return pooled, edges + s


# ---- statistics -------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class HeadStats:
    """Per head (L, H), averaged over the query tokens: where a row's attention goes."""

    to_cls: np.ndarray  # (L, H) weight on [CLS]
    to_sep: np.ndarray  # (L, H) weight on the [SEP] tokens together
    to_self: np.ndarray  # (L, H) weight on the token itself (the diagonal)
    to_prev: np.ndarray  # (L, H) weight on the token just before (positional heads)
    to_next: np.ndarray  # (L, H) weight on the token just after
    entropy: np.ndarray  # (L, H) row entropy in bits: 0 = one token, log2(T) = uniform
    max_entropy: float  # log2(T)


def _row_entropy(att: np.ndarray) -> np.ndarray:
    """(..., T, T) -> (..., T) entropy of each row in bits (torch: 20x faster than numpy's log2 here)."""
    p = torch.from_numpy(np.ascontiguousarray(att))
    return (torch.special.entr(p).sum(-1) / math.log(2)).numpy()  # entr(p) = -p ln p, 0 at p = 0


def head_stats(maps: AttentionMaps) -> HeadStats:
    att = maps.attentions  # (L, H, T, T)
    t = maps.length
    zero = np.zeros(att.shape[:2], dtype=np.float32)
    to_cls = att[..., :, maps.cls_index].mean(-1) if maps.cls_index is not None else zero
    to_sep = att[..., :, list(maps.sep_indices)].sum(-1).mean(-1) if maps.sep_indices else zero
    diag = lambda k: np.diagonal(att, offset=k, axis1=-2, axis2=-1).sum(-1) / t  # noqa: E731  (L, H)
    return HeadStats(
        to_cls=to_cls, to_sep=to_sep, to_self=diag(0), to_prev=diag(-1), to_next=diag(1),
        entropy=_row_entropy(att).mean(-1).astype(np.float32), max_entropy=float(np.log2(t)),
    )


def right_context_share(att: np.ndarray) -> float:
    """Mean weight that a token puts on tokens to its right (strictly above the diagonal); 0 when causal."""
    t = att.shape[-1]
    return float(np.triu(att.astype(np.float64), k=1).sum(-1).mean()) if t > 1 else 0.0


def rollout(att: np.ndarray) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): (L, H, T, T) -> (L, T, T), entry l = rollout up to layer l.

    Each layer's map is averaged over heads, the residual connection is modelled by adding the identity,
    rows are renormalised, and the layers are multiplied: R_l = A~_l R_(l-1), R_0 = A~_0."""
    t = att.shape[-1]
    a = torch.from_numpy(np.ascontiguousarray(att)).mean(1).double()  # (L, T, T)
    a = a + torch.eye(t, dtype=torch.float64)
    a = a / a.sum(-1, keepdim=True)
    out, r = torch.empty_like(a), torch.eye(t, dtype=torch.float64)
    for layer in range(a.shape[0]):
        r = a[layer] @ r  # (T, T)
        out[layer] = r
    return out.float().numpy()
