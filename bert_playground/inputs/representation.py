"""BERT's input representation: token + segment + position embeddings, summed and normalised.

Every vector here is read from the model's own embedding module, so what the page shows is
what the model computes (tests check it against `model.bert.embeddings(...)`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checkpoints.families import tokenizer_kind, word_start_marker
from ..core.notices import Notice, warning
from .text import Encoding, encode, typed_specials, typed_specials_notice


@dataclass(frozen=True)
class Representation:
    model: str
    encoding: Encoding
    typed_specials: tuple[str, ...] = ()  # special tokens the user typed (read as the real ones)

    def to_dict(self) -> dict:
        """The CLI's `represent --json`: the model and one row per token (and the length before truncation)."""
        out = {"model": self.model, "rows": self.rows()}
        if self.encoding.truncated:
            out["truncated_from"] = self.encoding.full_length
        return out

    def rows(self) -> list[dict]:
        e = self.encoding
        return [
            {"index": i, "token": t, "token_id": int(tid), "segment": int(s), "position": i}
            for i, (t, tid, s) in enumerate(zip(e.tokens, e.input_ids, e.token_type_ids))
        ]

    @property
    def notices(self) -> tuple[Notice, ...]:
        """How the input was read, for the user (page and CLI show them)."""
        e = self.encoding
        typed = typed_specials_notice(self.typed_specials)
        out = (warning(typed),) if typed else ()
        if not e.truncated:
            return out
        return out + (warning(f"The input has {e.full_length} tokens; this model takes at most {len(e)}, "
                        "so it was cut (the longer sentence first). The table shows what the model sees."),)


@dataclass(frozen=True)
class EmbeddingParts:
    token: torch.Tensor  # (T, E) word-piece embedding E_token
    segment: torch.Tensor  # (T, E) segment embedding E_A or E_B (zeros when the family has none: nothing is added)
    position: torch.Tensor  # (T, E) learned position embedding E_i (zeros for rotary positions: nothing is added)
    sum: torch.Tensor  # (T, E) E_token + E_segment + E_position
    normed: torch.Tensor  # (T, E) LayerNorm(sum): what enters layer 1 (dropout is off at inference)
    projected: torch.Tensor | None = None  # (T, D) ALBERT/ELECTRA: normed projected from E to the hidden size D
    notices: tuple[Notice, ...] = ()  # what this family adds differently, for the user

    def vectors(self, i: int) -> list[list[float]]:
        """Token i's five vectors: token, segment, position, sum, LayerNorm(sum)."""
        return [v[i].tolist() for v in (self.token, self.segment, self.position, self.sum, self.normed)]

    def norms(self, i: int) -> list[float]:
        return [float(v[i].norm()) for v in (self.token, self.segment, self.position, self.sum, self.normed)]

    def projected_norm(self, i: int) -> float | None:
        """L2 norm of token i's projected vector (ALBERT/ELECTRA), None when nothing is projected."""
        return float(self.projected[i].norm()) if self.projected is not None else None


def represent(bundle, text_a: str, text_b: str | None = None) -> Representation:
    return Representation(model=bundle.info.name, encoding=encode(bundle, text_a, text_b),
                          typed_specials=typed_specials(bundle.tokenizer, text_a, text_b))


def family_notices(bundle) -> tuple[Notice, ...]:
    """How this family's input representation differs from BERT's, one sentence each."""
    fam, tok = bundle.family, bundle.tokenizer
    out = []
    kind = tokenizer_kind(tok)
    if kind != "WordPiece":
        mark = word_start_marker(tok)[1]
        out.append(Notice(f"{fam.name} uses a {kind} tokenizer: a piece that starts a word carries '{mark}' "
                          f"(shown as the tokenizer spells it); special tokens {tok.cls_token} {tok.sep_token} "
                          f"{tok.mask_token}."))
    if fam.segment_types is None:
        out.append(Notice(f"{fam.name} has no segment embeddings: sentence A and B are told apart only by the "
                          f"{tok.sep_token} between them (the segment vector below is zero: nothing is added)."))
    elif fam.segment_types == 1:
        out.append(Notice(f"{fam.name} has a single segment type: every token gets the same segment vector, so B is "
                          f"marked only by the {tok.sep_token}{tok.sep_token} between the sentences."))
    if fam.positions == "rotary":
        out.append(Notice(f"{fam.name} has no learned position embeddings: it rotates queries and keys by position "
                          "inside every attention layer (rotary positions), so the position vector below is zero."))
    elif "offset" in fam.positions:
        out.append(Notice(f"{fam.name}'s position ids start after the padding index ({tok.pad_token_id}), so token i "
                          f"reads position embedding {tok.pad_token_id + 1}+i."))
    emb = getattr(bundle.encoder.config, "embedding_size", None)
    if emb is not None and emb != bundle.info.hidden_size:
        out.append(Notice(f"{fam.name} factorizes its embeddings: they are {emb} wide and a linear map projects the "
                          f"sum to the hidden size {bundle.info.hidden_size} before layer 1."))
    return tuple(out)


def _projection(bundle):
    enc = bundle.encoder
    return getattr(getattr(enc, "encoder", None), "embedding_hidden_mapping_in", None) \
        or getattr(enc, "embeddings_project", None)  # ALBERT, ELECTRA


@torch.inference_mode()
def embedding_parts(bundle, encoding: Encoding) -> EmbeddingParts:
    emb = bundle.encoder.embeddings
    fam = bundle.family
    dev = bundle.device
    ids = torch.tensor(encoding.input_ids, device=dev)  # (T,)
    seg = torch.tensor(encoding.token_type_ids, device=dev)  # (T,)
    word = getattr(emb, "word_embeddings", None) or emb.tok_embeddings  # ModernBERT: tok_embeddings
    tok_e = word(ids)  # (T, E)
    zero = torch.zeros_like(tok_e)
    seg_table = getattr(emb, "token_type_embeddings", None)
    seg_e = seg_table(seg if fam.segment_types != 1 else torch.zeros_like(seg)) if seg_table is not None else zero
    pos_table = getattr(emb, "position_embeddings", None)
    offset = bundle.tokenizer.pad_token_id + 1 if "offset" in fam.positions else 0  # RoBERTa: padding_idx + 1 + i
    pos_e = pos_table(torch.arange(len(encoding), device=dev) + offset) if pos_table is not None else zero  # (T, E)
    total = tok_e + seg_e + pos_e if seg_table is not None else tok_e + pos_e  # same order as the family's forward
    norm = getattr(emb, "LayerNorm", None) or emb.norm
    normed = norm(total)
    proj = _projection(bundle)
    cpu = lambda t: t.float().cpu()  # noqa: E731
    return EmbeddingParts(cpu(tok_e), cpu(seg_e), cpu(pos_e), cpu(total), cpu(normed),
                          cpu(proj(normed)) if proj is not None else None, family_notices(bundle))
