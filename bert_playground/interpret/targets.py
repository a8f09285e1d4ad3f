"""What an explanation explains: a *target*, one number the model computes (the probability of its top guess at a
[MASK], of its NSP decision, or of a fine-tuned classifier's label), as a function of the input's token embeddings,
so that gradients can flow to them (`probability_from_embeddings`) and tokens can be swapped (`probability_from_ids`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..checkpoints.models import derived
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..inputs.text import clean_text, encode, encode_ids

CLI_TARGETS = ("mask", "nsp")  # a fine-tuned label needs a classifier folder: the page offers it


@dataclass(frozen=True, eq=False)
class Target:
    """One prediction to explain: the function f(token embeddings) -> probability of the predicted class."""

    kind: str  # 'mask' | 'nsp' | 'label'
    model_name: str
    tokens: tuple[str, ...]
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    position: int  # the token whose output is read: the mask, or [CLS] (0) for NSP and labels
    index: int  # the class whose probability is f: a vocabulary id, an NSP label (0 = IsNext) or a label
    prediction: str  # its name: the guessed token, 'IsNext'/'NotNext', the label
    probability: float  # f(x)
    fixed: tuple[int, ...]  # positions the baseline keeps ([CLS], [SEP], masks): attribution 0, never deleted
    encoder: torch.nn.Module = field(repr=False)  # BertModel with eager attention
    head: Callable = field(repr=False)  # encoder output -> (B, C) logits
    mask_id: int = 0
    pad_id: int = 0
    bundle: object = field(default=None, repr=False)  # the checkpoint, for mask and NSP targets
    notices: tuple[Notice, ...] = ()  # how the input was read (cut to the maximum length...)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def candidates(self) -> list[int]:
        """Positions a ranking may put first and the deletion test may replace."""
        fixed = set(self.fixed)
        return [i for i in range(len(self)) if i not in fixed]


# ---- the function f ---------------------------------------------------------------------

def device_of(target: Target) -> torch.device:
    return next(target.encoder.parameters()).device


def _extra(target: Target, batch: int) -> dict[str, torch.Tensor]:
    dev = device_of(target)
    types = torch.tensor([target.token_type_ids], device=dev).expand(batch, -1)  # (B, T)
    return {"token_type_ids": types, "attention_mask": torch.ones_like(types)}


def word_embeddings(target: Target, ids: torch.Tensor | None = None) -> torch.Tensor:
    """(1, T, D) token embeddings of the input (what BERT adds position and segment embeddings to)."""
    ids = torch.tensor([target.input_ids], device=device_of(target)) if ids is None else ids
    return target.encoder.embeddings.word_embeddings(ids).detach()


def probability_from_embeddings(target: Target, embeds: torch.Tensor) -> torch.Tensor:
    """(B, T, D) token embeddings -> (B,) probability of the target class (differentiable)."""
    out = target.encoder(inputs_embeds=embeds, **_extra(target, embeds.shape[0]), return_dict=True)
    return target.head(out).float().softmax(-1)[:, target.index]


@torch.inference_mode()
def probability_from_ids(target: Target, ids: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """(N, T) input ids -> (N,) probability of the target class, in batches."""
    out = []
    for s in range(0, ids.shape[0], batch_size):
        chunk = ids[s:s + batch_size].to(device_of(target))
        res = target.encoder(input_ids=chunk, **_extra(target, chunk.shape[0]), return_dict=True)
        out.append(target.head(res).float().softmax(-1)[:, target.index].cpu())
    return torch.cat(out)


# ---- targets ------------------------------------------------------------------------------

def _special_ids(tokenizer) -> set[int]:
    return {i for i in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id) if i is not None}


def _predict(target_kwargs: dict, names) -> Target:
    """Fill in the predicted class and its probability from one forward pass of f."""
    t = Target(**target_kwargs, index=0, prediction="", probability=0.0)
    with torch.inference_mode():
        ids = torch.tensor([t.input_ids], device=device_of(t))
        res = t.encoder(input_ids=ids, **_extra(t, 1), return_dict=True)
        probs = t.head(res).float().softmax(-1)[0]  # (C,)
    best = int(probs.argmax())
    return Target(**target_kwargs, index=best, prediction=names(best), probability=float(probs[best]))


def mask_target(bundle, text_a: str, text_b: str | None = None, mask: int = 0) -> Target:
    """The model's top guess at mask number `mask` (0 = the first) of a text or pair."""
    from ..objectives.mlm import EXAMPLE, normalise_masks, require_mlm

    require_mlm(bundle)
    tok = bundle.tokenizer
    a, _ = normalise_masks(clean_text(text_a, "The text"), tok.mask_token)
    b = normalise_masks(clean_text(text_b, "Sentence B"), tok.mask_token)[0] if text_b is not None else None
    enc = encode(bundle, a, b)
    masks = [i for i, t in enumerate(enc.input_ids) if t == tok.mask_token_id]
    if not masks:
        where = "anywhere in the first " + str(len(enc)) + " tokens" if enc.truncated else "in the text"
        raise PlaygroundError(f"There is no {tok.mask_token} {where}: write {tok.mask_token} where the model should "
                              f"guess a word, e.g. '{EXAMPLE.replace('[MASK]', tok.mask_token)}'.")
    if not isinstance(mask, int) or not 0 <= mask < len(masks):
        raise PlaygroundError(f"There is no mask number {mask + 1 if isinstance(mask, int) else mask}: "
                              f"the text has {len(masks)}.")
    fixed = tuple(i for i, t in enumerate(enc.input_ids) if t in _special_ids(tok) or t == tok.mask_token_id)
    if len(fixed) == len(enc):
        raise PlaygroundError(f"Every token is {tok.mask_token}: there is no context for the guess to come from, "
                              "so there is nothing to attribute. Keep some words unmasked.")
    pos = masks[mask]
    head = bundle.model.cls.predictions
    notes = [warning(f"The text has {enc.full_length} tokens; the model reads the first {len(enc)} (the rest is "
                     "cut), so the explanation is of those.")] if enc.truncated else []
    return _predict(dict(
        kind="mask", model_name=bundle.info.name, tokens=tuple(enc.tokens), input_ids=tuple(enc.input_ids),
        token_type_ids=tuple(enc.token_type_ids), position=pos, fixed=fixed, encoder=bundle.encoder,
        head=lambda out: head(out.last_hidden_state[:, pos]), mask_id=tok.mask_token_id,
        pad_id=tok.pad_token_id or 0, bundle=bundle, notices=tuple(notes),
    ), lambda i: tok.convert_ids_to_tokens(i))


def nsp_target(bundle, text_a: str, text_b: str) -> Target:
    """The NSP head's decision (IsNext or NotNext) for a pair, read from [CLS]."""
    from ..objectives.nsp import LABELS, encode_pair, require_nsp

    require_nsp(bundle)
    tok = bundle.tokenizer
    packed = encode_pair(bundle, text_a, text_b)
    fixed = tuple(i for i, t in enumerate(packed.input_ids) if t in _special_ids(tok))
    head = bundle.model.cls.seq_relationship
    return _predict(dict(
        kind="nsp", model_name=bundle.info.name, tokens=tuple(packed.tokens), input_ids=tuple(packed.input_ids),
        token_type_ids=tuple(packed.segments), position=0, fixed=fixed, encoder=bundle.encoder,
        head=lambda out: head(out.pooler_output), mask_id=tok.mask_token_id, pad_id=tok.pad_token_id or 0,
        bundle=bundle, notices=(warning(f"The pair has {packed.full_length} tokens; the model reads {len(packed)} "
                                        "(the longer sentence was cut first)."),) if packed.truncated else (),
    ), lambda i: LABELS[i])


def _eager_copy(model):
    """A private copy of a classifier with eager attention (its own runs SDPA, which returns no maps)."""
    def build(m):
        cp = copy.deepcopy(m).eval()
        cp.set_attn_implementation("eager")
        for p in cp.parameters():
            p.requires_grad_(False)
        return cp
    return derived(model, "eager copy", build)


def label_target(clf, text: str, pair: str | None = None) -> Target:
    """A fine-tuned classifier's label (`classifier.Classifier`), read from [CLS]."""
    if getattr(clf, "kind", None) != "bert":
        raise PlaygroundError("The bag-of-words baseline has no embeddings to attribute: explain a fine-tuned "
                              "BERT classifier (mode full or frozen).")
    if clf.pair and pair is None:
        raise PlaygroundError("This classifier was trained on sentence pairs: give a second sentence.")
    model = _eager_copy(clf.model)
    tok = clf.tokenizer
    enc = encode_ids(tok, clean_text(text, "The text"),
                     clean_text(pair, "The second sentence") if clf.pair else None, clf.max_length)
    fixed = tuple(i for i, t in enumerate(enc.input_ids) if t in _special_ids(tok))
    if len(fixed) == len(enc):
        raise PlaygroundError("The text has no tokens this tokenizer keeps: type a sentence.")
    return _predict(dict(
        kind="label", model_name="fine-tuned classifier", tokens=tuple(enc.tokens), input_ids=tuple(enc.input_ids),
        token_type_ids=tuple(enc.token_type_ids), position=0, fixed=fixed, encoder=model.bert,
        head=lambda out: model.classifier(out.pooler_output), mask_id=tok.mask_token_id, pad_id=tok.pad_token_id or 0,
        notices=(warning(f"The text was cut to the classifier's {clf.max_length} tokens."),) if enc.truncated else (),
    ), lambda i: clf.label_names[i])
