"""Interventions on one prediction: switch attention heads off (Michel et al. 2019), patch a clean run's activations
into a corrupted one (causal tracing, Meng et al. 2022), and read every layer through the MLM head (the logit
lens). Every run goes through `hooks.intervening`: nothing stays on the shared model."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoints import parts
from ..checkpoints.models import derived, model_inputs
from ..core.errors import PlaygroundError
from ..inputs.text import encode, encode_batch
from ..objectives.mlm import fill, require_mlm
from ..objectives.nsp import score_text
from .hooks import Edits, intervening, layers, parse_heads

MODES = ("zero", "mean")  # what a switched-off head's context becomes: zeros, or its mean over a reference corpus
REFERENCE_SENTENCES = 64  # sentences of the shipped demo corpus the mean context of every head is taken over
PATCH_ROWS = 64  # patched copies of the corrupted input per forward pass


# ---- head ablation -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ablation:
    heads: tuple[tuple[int, int], ...]
    mode: str
    before: object  # the prediction as the model makes it: FillResult or NspScore
    after: object  # the same prediction with those heads switched off

    def to_dict(self) -> dict:
        """The CLI's `ablate --json`."""
        return {"heads": [list(h) for h in self.heads], "mode": self.mode, "before": self.before.to_dict(),
                "after": self.after.to_dict()}


def mean_context(bundle) -> torch.Tensor:
    """(L, H, d): every head's mean context vector over the tokens of a reference corpus (the shipped NSP demo
    corpus's first sentences), for mean ablation. Computed once per loaded model."""
    def build(model):
        from ..objectives.nsp import demo_documents

        sentences = [s for d in demo_documents() for s in d.sentences][:REFERENCE_SENTENCES]
        enc = encode_batch(bundle.tokenizer, sentences, limit=128)
        edits = Edits(record={"context"})
        with torch.inference_mode(), intervening(bundle, edits):
            bundle.encoder(**model_inputs(bundle, enc))
        keep = enc["attention_mask"].bool().to(bundle.device)  # (B, T)
        return torch.stack([edits.recorded[("context", i)][keep].mean(0) for i in range(bundle.info.layers)])
    return derived(bundle.model, "mean head context", build)


def head_edits(bundle, heads: list[tuple[int, int]], mode: str = "zero") -> Edits:
    """The edits that switch `heads` off: their context replaced by zeros or by their mean context."""
    if mode not in MODES:
        raise PlaygroundError(f"Ablation mode must be one of {', '.join(MODES)}, not '{str(mode)[:20]}'.")
    edits = Edits()
    for layer, head in heads:
        edits.heads_off.setdefault(layer, []).append(head)
    if mode == "mean":
        means = mean_context(bundle)  # (L, H, d)
        edits.head_values = {layer: means[layer] for layer in edits.heads_off}
    return edits


def ablate(bundle, text: str, text_b: str | None = None, heads="", mode: str = "zero") -> Ablation:
    """The prediction for `text` (the guesses at its masks; with `text_b` and no mask: the pair head's decision)
    before and after switching `heads` ('3.7,5.0', 0-based) off."""
    layers(bundle)  # refuses ALBERT first
    chosen = parse_heads(heads, bundle.info.layers, bundle.info.heads)
    predict = _prediction(bundle, text, text_b)
    before = predict()
    with intervening(bundle, head_edits(bundle, chosen, mode)):
        after = predict()
    return Ablation(tuple(chosen), mode, before, after)


def _prediction(bundle, text: str, text_b: str | None):
    mask = bundle.tokenizer.mask_token
    if mask in text or "[MASK]" in text.upper():
        require_mlm(bundle)
        return lambda: fill(bundle, text, 5)
    if text_b:
        return lambda: score_text(bundle, text, text_b)
    raise PlaygroundError(f"Put a {mask} in the text (the masked-LM guess is compared), or give a second sentence "
                          "(the NSP decision is compared).")


# ---- activation patching -------------------------------------------------------------------------

@dataclass(frozen=True)
class Patching:
    tokens: tuple[str, ...]  # the corrupted input
    answer: str  # the clean run's answer at the first mask (or the one asked for)
    grid: np.ndarray  # (L + 1, T): P(answer) with one hidden state patched; row 0 the embedding output
    blocks: dict[str, np.ndarray]  # 'attention', 'feed_forward' -> (L, T): one block's output patched
    clean_probability: float
    corrupted_probability: float

    def to_dict(self) -> dict:
        """The CLI's `patch --json`."""
        return {"tokens": list(self.tokens), "answer": self.answer, "grid": self.grid.round(8).tolist(),
                "blocks": {k: v.round(8).tolist() for k, v in self.blocks.items()},
                "clean_probability": self.clean_probability, "corrupted_probability": self.corrupted_probability}


def patch(bundle, clean: str, corrupted: str, answer: str | None = None) -> Patching:
    """For every layer x position: the clean run's hidden state there put into the corrupted run, and the clean
    answer's probability at the first mask read. Both inputs must have the same tokens count and the mask at the
    same position (e.g. 'The capital of France is [MASK].' / 'The capital of Italy is [MASK].')."""
    require_mlm(bundle)
    n_layers = len(layers(bundle))
    a, b = encode(bundle, clean), encode(bundle, corrupted)
    pos = _mask_position(bundle, a, b)
    answer_id = _answer_id(bundle, a, pos, answer)
    edits = Edits(record={"embeddings", "layer", "attention", "feed_forward"})
    with torch.inference_mode(), intervening(bundle, edits):
        p_clean = _answer_probability(bundle, a.tensors(), pos, answer_id)[0]
    clean_states = dict(edits.recorded)
    with torch.inference_mode():
        p_corrupt = _answer_probability(bundle, b.tensors(), pos, answer_id)[0]
    t = len(b)
    sites = [("embeddings", 0)] + [("layer", i) for i in range(n_layers)]
    grid = _patched(bundle, b, pos, answer_id, sites, clean_states).reshape(n_layers + 1, t)
    blocks = {s: _patched(bundle, b, pos, answer_id, [(s, i) for i in range(n_layers)], clean_states).reshape(n_layers, t)
              for s in ("attention", "feed_forward")}
    return Patching(tuple(b.tokens), bundle.tokenizer.convert_ids_to_tokens(answer_id), grid, blocks,
                    float(p_clean), float(p_corrupt))


def _mask_position(bundle, a, b) -> int:
    if len(a) != len(b):
        raise PlaygroundError(f"The clean text has {len(a)} tokens and the corrupted one {len(b)}: patching puts each "
                              "position's state into the same position, so both need the same number of tokens "
                              "(change a word for one of the same length in pieces).")
    mask_id = bundle.tokenizer.mask_token_id
    at_a = [i for i, t in enumerate(a.input_ids) if t == mask_id]
    at_b = [i for i, t in enumerate(b.input_ids) if t == mask_id]
    if not at_a or at_a[:1] != at_b[:1]:
        raise PlaygroundError(f"Both texts need a {bundle.tokenizer.mask_token} at the same position: the answer's "
                              "probability is read there.")
    return at_a[0]


def _answer_id(bundle, a, pos: int, answer: str | None) -> int:
    if answer:
        pieces = bundle.tokenizer.tokenize(answer)
        if len(pieces) != 1:
            raise PlaygroundError(f"The answer '{answer[:30]}' is {len(pieces)} pieces here: give one vocabulary token.")
        return bundle.tokenizer.convert_tokens_to_ids(pieces[0])
    with torch.inference_mode():
        return int(_mlm_logits(bundle, a.tensors())[0, pos].argmax())


def _mlm_logits(bundle, tensors: dict) -> torch.Tensor:
    out = bundle.model(**model_inputs(bundle, tensors), return_dict=True)
    return getattr(out, "prediction_logits", None) if getattr(out, "prediction_logits", None) is not None else out.logits


def _answer_probability(bundle, tensors: dict, pos: int, answer_id: int) -> torch.Tensor:
    """(B,) P(answer) at `pos` of each row."""
    return _mlm_logits(bundle, tensors)[:, pos].float().softmax(-1)[:, answer_id].cpu()


def _patched(bundle, b, pos: int, answer_id: int, sites: list[tuple[str, int]], clean: dict) -> np.ndarray:
    """P(answer) for every (site, position): row r of a batch of copies of the corrupted input patches one of them."""
    t = len(b)
    jobs = [(site, p) for site in sites for p in range(t)]
    base = b.tensors()
    out = []
    for start in range(0, len(jobs), PATCH_ROWS):
        part = jobs[start:start + PATCH_ROWS]
        edits = Edits()
        for site in {s for s, _ in part}:
            rows = torch.tensor([r for r, (s, _) in enumerate(part) if s == site])
            positions = torch.tensor([p for s, p in part if s == site])
            edits.patches[site] = (rows, positions, clean[site][0, positions])
        batch = {k: v.expand(len(part), -1) for k, v in base.items()}  # (N, T)
        with torch.inference_mode(), intervening(bundle, edits):
            out.append(_answer_probability(bundle, batch, pos, answer_id))
    return torch.cat(out).numpy()


# ---- the logit lens -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Lens:
    tokens: tuple[str, ...]
    masks: tuple[dict, ...]  # per mask: position, and per layer (0 = embeddings) the top-k and the final answer's rank

    def to_dict(self) -> dict:
        """The CLI's `lens --json`."""
        return {"tokens": list(self.tokens), "masks": list(self.masks)}


def logit_lens(bundle, text: str, top_k: int = 5) -> Lens:
    """Each layer's hidden state at each mask read through the MLM head (its transform, LayerNorm and decoder, as
    the last layer's state is). The head was trained on the last layer only: earlier readings are approximate."""
    require_mlm(bundle)
    fam = bundle.family
    if not fam.mlm_transform or not fam.mlm_decoder:
        raise PlaygroundError(f"{fam.name}'s MLM head reads the encoder after a final normalisation the other layers "
                              "do not have: the logit lens is drawn for BERT, RoBERTa, DistilBERT, ALBERT and ELECTRA.")
    enc = encode(bundle, text)
    positions = [i for i, t in enumerate(enc.input_ids) if t == bundle.tokenizer.mask_token_id]
    if not positions:
        raise PlaygroundError(f"Put at least one {bundle.tokenizer.mask_token} in the text: the lens reads the layers "
                              "at the masks.")
    with torch.inference_mode():
        out = bundle.encoder(**model_inputs(bundle, enc.tensors()), output_hidden_states=True, return_dict=True)
        states = torch.stack([h[0, positions] for h in out.hidden_states])  # (L + 1, M, D)
        logits = parts.run(bundle.model, (*fam.mlm_transform, fam.mlm_decoder), states)  # (L + 1, M, V)
        probs = logits.float().softmax(-1)  # (L + 1, M, V)
    final = probs[-1].argmax(-1)  # (M,)
    ranks = (probs > probs.gather(-1, final.view(1, -1, 1).expand(len(probs), -1, 1))).sum(-1) + 1  # (L + 1, M)
    top = probs.topk(top_k, dim=-1)
    tok = bundle.tokenizer.convert_ids_to_tokens
    masks = tuple({"position": p, "layers": [
        {"layer": layer, "top": [[t, round(float(v), 6)] for t, v in zip(tok(top.indices[layer, m].tolist()),
                                                                          top.values[layer, m])],
         "answer_rank": int(ranks[layer, m])} for layer in range(len(probs))]} for m, p in enumerate(positions))
    return Lens(tuple(enc.tokens), masks)
