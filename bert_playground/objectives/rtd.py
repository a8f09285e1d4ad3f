"""ELECTRA's replaced-token detection: corrupt a text, then read the discriminator's P(replaced) at every token.

The corruption is the package's masking (`masking.mask_text`, the 80/10/10 recipe). ELECTRA's discriminator never
sees [MASK]: its generator fills each masked position with a sampled token. With a generator checkpoint given, the
masked positions get the generator's samples (one seeded draw from its MLM distribution); without one they get
uniformly random tokens. The truth is ELECTRA's: a token counts as replaced when it differs from the original
(a generator sample equal to the original counts as original).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..checkpoints.models import forward
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..inputs.text import max_length, pad_batch, truncate_ids
from .masking import MaskingConfig, make_generator, mask_text, special_ids


@dataclass(frozen=True)
class Detection:
    model: str
    tokens: tuple[str, ...]  # original pieces, with the special tokens
    input_tokens: tuple[str, ...]  # what the discriminator read
    replaced: tuple[bool, ...]  # the truth: input differs from the original
    p_replaced: tuple[float, ...]  # the discriminator's sigmoid output per token
    special: tuple[bool, ...]  # special tokens (not scored)
    source: str  # 'generator' | 'random': what filled the masked positions
    notices: tuple[Notice, ...] = ()

    def rows(self) -> list[dict]:
        return [{"position": i, "original": o, "input": c, "replaced": r, "p_replaced": p}
                for i, (o, c, r, p, s) in enumerate(zip(self.tokens, self.input_tokens, self.replaced,
                                                       self.p_replaced, self.special)) if not s]

    @property
    def accuracy(self) -> float | None:
        """Share of (non-special) tokens where P(replaced) >= 0.5 agrees with the truth."""
        rows = self.rows()
        return sum((r["p_replaced"] >= 0.5) == r["replaced"] for r in rows) / len(rows) if rows else None


def require_rtd(bundle) -> None:
    if not bundle.info.has_rtd:
        fam = bundle.family
        raise PlaygroundError(
            f"'{bundle.info.name}' has no replaced-token-detection head: only an ELECTRA discriminator "
            f"(ElectraForPreTraining) has one" + ("" if fam.model_type == "electra" else f", and this is {fam.name}") + ".")


def _check_generator(bundle, generator) -> None:
    if not generator.info.has_mlm:
        raise PlaygroundError(f"The generator '{generator.info.name}' has no masked-LM head, so it cannot sample tokens.")
    if generator.tokenizer.get_vocab() != bundle.tokenizer.get_vocab():
        raise PlaygroundError(f"The generator '{generator.info.name}' has a different vocabulary from the "
                              f"discriminator '{bundle.info.name}': pick the generator trained with it.")


@torch.inference_mode()
def detect(bundle, text: str, config: MaskingConfig = MaskingConfig(), seed: int = 0, generator=None) -> Detection:
    """Corrupt `text` (seeded), fill its masks (generator samples or random tokens), score every token."""
    require_rtd(bundle)
    if generator is not None:
        _check_generator(bundle, generator)
    tok = bundle.tokenizer
    masked = mask_text(tok, text, config, seed)
    ids, truncated = truncate_ids(list(masked.input_ids), max_length(bundle), tok.sep_token_id)
    original = tok.convert_tokens_to_ids(list(masked.tokens[: len(ids)]))
    if truncated:
        original[-1] = tok.sep_token_id
    at_mask = [i for i, a in enumerate(masked.actions[: len(ids)]) if a == "mask" and i < len(ids) - 1]
    g = make_generator(seed + 1)
    if at_mask and generator is not None:
        batch = pad_batch([ids])
        logits = forward(generator, batch).mlm_logits[0, at_mask].float()  # (M, V)
        sampled = torch.multinomial(logits.softmax(-1).cpu(), 1, generator=g)[:, 0].tolist()  # one seeded draw
    else:
        sampled = torch.randint(0, len(tok), (len(at_mask),), generator=g).tolist()
    for i, s in zip(at_mask, sampled):
        ids[i] = s
    out = forward(bundle, pad_batch([ids]))
    p = out.rtd_logits[0].float().sigmoid().cpu().tolist()  # (T,)
    specials = set(special_ids(tok))
    notes = [Notice("ELECTRA's discriminator never sees " + tok.mask_token + ": the masked positions were filled with "
                    + (f"samples from the generator '{generator.info.name}'." if generator is not None
                       else "random tokens (give its generator checkpoint for ELECTRA's own corruption)."))]
    if truncated:
        notes.append(warning(f"The text was cut to the model's {len(ids)} tokens."))
    return Detection(
        model=bundle.info.name, tokens=tuple(tok.convert_ids_to_tokens(original)),
        input_tokens=tuple(tok.convert_ids_to_tokens(ids)), replaced=tuple(a != b for a, b in zip(ids, original)),
        p_replaced=tuple(p), special=tuple(i in specials for i in original),
        source="generator" if generator is not None else "random", notices=tuple(notes))
