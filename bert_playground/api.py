"""The public API: what a notebook or a script calls, small and stable. Every function returns the dataclass the
pages draw, and each result's `to_dict()` is exactly the CLI's `--json` output for the same input. The figures the
pages draw come from `bert_playground.figures` (Plotly only: `fig.show()` displays inline in Jupyter).

    from bert_playground import api, figures
    bundle = api.load()                                  # the embedded checkpoint (or a folder, or a Hub id)
    api.fill(bundle, "The capital of France is [MASK].").to_dict()
    figures.fill_bars(result)                           # the Masked LM page's figures
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .checkpoints.models import Bundle

__all__ = ["load", "represent", "mask", "fill", "fill_joint", "candidates", "sides", "nsp", "attention", "rollout",
           "context", "explain", "finetune", "predict", "pretrain"]


def load(name: str | None = None, device: str | None = None) -> Bundle:
    """A checkpoint, loaded once: 'embedded' (the default), a local folder or a Hugging Face Hub id. Safetensors
    only; never remote code. The model is shared: the functions below never change it."""
    from .checkpoints.models import load as _load

    return _load(name, device)


def represent(bundle, text_a: str, text_b: str | None = None):
    """BERT's input representation: tokens, ids, segments and positions (`Representation`; `.rows()`)."""
    from .inputs.representation import represent as _represent

    return _represent(bundle, text_a, text_b)


def mask(bundle_or_tokenizer, text: str, rate: float = 0.15, seed: int = 0, whole_word: bool = False):
    """BERT's corruption of a text: `rate` of the tokens chosen, 80% [MASK], 10% random, 10% kept (`MaskedText`)."""
    from .objectives.masking import MaskingConfig, mask_text

    tokenizer = getattr(bundle_or_tokenizer, "tokenizer", bundle_or_tokenizer)
    return mask_text(tokenizer, text, MaskingConfig(rate=rate, whole_word=whole_word), seed=seed)


def fill(bundle, text: str, top_k: int = 5):
    """The MLM head's top-k guesses at every [MASK] of `text`, from one forward pass (`FillResult`)."""
    from .objectives.mlm import fill as _fill

    return _fill(bundle, text, top_k)


def fill_joint(bundle, text: str, order: str = "confidence"):
    """Every mask filled one at a time, each pass seeing the tokens already chosen (`JointFill`)."""
    from .objectives.decoding import joint_fill

    return joint_fill(bundle, text, order)


def candidates(bundle, text: str, words):
    """Candidate words ('paris, lyon' or a list) in place of the first mask, scored by pseudo-log-likelihood over
    their pieces, best first (`Candidate` each)."""
    from .objectives.decoding import score_candidates

    return score_candidates(bundle, text, words)


def sides(bundle, text: str, top_k: int = 5):
    """Top-k at the first mask with the whole context, with the left side only, and with the right side only."""
    from .objectives.decoding import sides as _sides

    return _sides(bundle, text, top_k)


def nsp(bundle, text_a: str, text_b: str):
    """The pair head's probability that B follows A (BERT's NSP) or that they are in order (ALBERT's SOP)."""
    from .objectives.nsp import score_text

    return score_text(bundle, text_a, text_b)


def attention(bundle, text_a: str, text_b: str | None = None, causal: bool = False):
    """Every attention map of one forward pass, (L, H, T, T) in `.attentions` (`AttentionMaps`)."""
    from .interpret.attention import compute

    return compute(bundle, text_a, text_b, causal=causal)


def rollout(maps) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020) of `attention(...)`'s maps: (L, T, T), entry l up to layer l."""
    from .interpret.attention import rollout as _rollout

    return _rollout(maps.attentions)


def context(bundle, word: str, sentences: list[str], senses: list[str] | None = None, pooling: str = "mean"):
    """One word's vectors in several sentences at every layer: similarities, sense separation, PCA."""
    from .interpret.contextual import analyse

    return analyse(bundle, word, sentences, senses, pooling)


def explain(bundle, text: str, text_b: str | None = None, target: str = "mask", **settings):
    """Why the model said that: attention, rollout, gradient x input and integrated gradients for one prediction
    (`target` 'mask': the first mask's guess; 'nsp': the pair decision), and the deletion test of them. `settings`:
    baseline, steps, layer, head, k_max (as `attribution.explain`)."""
    from .interpret import attribution

    t = attribution.nsp_target(bundle, text, text_b) if target == "nsp" else attribution.mask_target(bundle, text, text_b)
    return attribution.explain(t, **settings)


def finetune(bundle, train, held_out, **settings):
    """Fine-tune a copy of the encoder with a new head on labelled data (`datasets.*`; the task follows
    `settings['task']`, default 'classify'); `FinetuneResult` (`.classifier` predicts, `.to_dict()`)."""
    from .finetune import FinetuneConfig, run

    return run(bundle, train, held_out, FinetuneConfig(**settings))


def predict(model, *inputs):
    """Predictions of a fine-tuned model: a `finetune(...)` result or a folder saved by `finetune --save`.
    Classifiers take texts (and second sentences), taggers a sentence, readers a question and a passage."""
    from pathlib import Path

    from .finetune import load_classifier, load_predictor

    if isinstance(model, (str, Path)):
        try:
            model = load_classifier(model)
        except Exception:  # noqa: BLE001 (not a classifier folder: a tagger's or a reader's)
            model = load_predictor(model)
    predictor = getattr(model, "classifier", model)
    return predictor.predict(*inputs)


def pretrain(**settings) -> dict:
    """Pre-train on MLM + NSP (`PretrainConfig`'s fields: corpus, out, init, max_seconds, ...); the run's figures."""
    from .pretraining.pretrain import PretrainConfig
    from .pretraining.pretrain import pretrain as _pretrain

    return _pretrain(PretrainConfig(**settings))
