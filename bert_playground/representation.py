"""BERT's input representation: token + segment + position embeddings, summed and normalised.

Every vector here is read from the model's own embedding module, so what the page shows is
what the model computes (tests check it against `model.bert.embeddings(...)`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .notices import Notice, warning
from .text import Encoding, encode, typed_specials, typed_specials_notice


@dataclass(frozen=True)
class Representation:
    model: str
    encoding: Encoding
    typed_specials: tuple[str, ...] = ()  # special tokens the user typed (read as the real ones)

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
    token: torch.Tensor  # (T, D) word-piece embedding E_token
    segment: torch.Tensor  # (T, D) segment embedding E_A or E_B
    position: torch.Tensor  # (T, D) learned position embedding E_i
    sum: torch.Tensor  # (T, D) E_token + E_segment + E_position
    normed: torch.Tensor  # (T, D) LayerNorm(sum): what enters layer 1 (dropout is off at inference)

    def vectors(self, i: int) -> list[list[float]]:
        """Token i's five vectors: token, segment, position, sum, LayerNorm(sum)."""
        return [v[i].tolist() for v in (self.token, self.segment, self.position, self.sum, self.normed)]

    def norms(self, i: int) -> list[float]:
        return [float(v[i].norm()) for v in (self.token, self.segment, self.position, self.sum, self.normed)]


def represent(bundle, text_a: str, text_b: str | None = None) -> Representation:
    return Representation(model=bundle.info.name, encoding=encode(bundle, text_a, text_b),
                          typed_specials=typed_specials(bundle.tokenizer, text_a, text_b))


@torch.inference_mode()
def embedding_parts(bundle, encoding: Encoding) -> EmbeddingParts:
    emb = bundle.encoder.embeddings
    dev = bundle.device
    ids = torch.tensor(encoding.input_ids, device=dev)  # (T,)
    seg = torch.tensor(encoding.token_type_ids, device=dev)  # (T,)
    pos = torch.arange(len(encoding), device=dev)  # (T,)
    tok_e = emb.word_embeddings(ids)  # (T, D)
    seg_e = emb.token_type_embeddings(seg)  # (T, D)
    pos_e = emb.position_embeddings(pos)  # (T, D)
    total = tok_e + seg_e + pos_e  # same order of additions as BertEmbeddings.forward
    normed = emb.LayerNorm(total)
    cpu = lambda t: t.float().cpu()  # noqa: E731
    return EmbeddingParts(cpu(tok_e), cpu(seg_e), cpu(pos_e), cpu(total), cpu(normed))
