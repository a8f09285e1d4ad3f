"""The BERT family: what each supported `model_type` has, and which transformers classes load it.

One `Family` per model_type. Heads are recognised from weight names (never invented): a checkpoint is loaded
with the class that holds exactly the heads its weights have. Everything downstream (encoding, masking, fill,
attention, NSP/SOP, fine-tuning) reads these descriptions instead of assuming BERT.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MLM, PAIR, RTD = "mlm", "pair", "rtd"  # the pre-training heads a checkpoint may carry


@dataclass(frozen=True)
class Family:
    model_type: str  # config.json's model_type
    name: str  # what the pages call it
    base: str  # attribute of the head classes that holds the encoder ('bert', 'roberta', ..., 'model')
    head_prefixes: dict  # head -> weight-name prefixes that prove the head is there
    classes: dict  # frozenset of heads -> transformers class name that holds exactly those heads
    sequence_classification: str  # class fine-tuning builds
    segments: bool  # the model takes token_type_ids (segment embeddings)
    segment_types: int | None  # segment types it was trained with (None: no segment embeddings at all)
    positions: str  # 'learned' | 'learned, offset by the padding index' | 'rotary'
    pair_task: str | None  # 'nsp' | 'sop' | None: the sentence-pair objective of its pre-training
    mlm_head: str | None  # attribute path of an MLM head that maps hidden states to logits (None: full pass)
    pair_head: str | None  # attribute path of the pair head that maps the pooled output to 2 logits
    recipe: dict = field(default_factory=dict)  # the seeds' recipe facts (masking, pair task, distillation, ...)


def _cls(**kw) -> dict:
    return {frozenset(k.split("+")) if k != "none" else frozenset(): v for k, v in kw.items()}


FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family("bert", "BERT", "bert",
           {MLM: ("cls.predictions.",), PAIR: ("cls.seq_relationship.",)},
           {frozenset({MLM, PAIR}): "BertForPreTraining", frozenset({MLM}): "BertForMaskedLM",
            frozenset({PAIR}): "BertForNextSentencePrediction", frozenset(): "BertModel"},
           "BertForSequenceClassification", True, 2, "learned", "nsp", "cls.predictions", "cls.seq_relationship",
           {"masking": "static (masks drawn once, reused each epoch)", "pair task": "NSP (next sentence)",
            "distilled": "no", "paper": "Devlin et al. 2019"}),
    Family("roberta", "RoBERTa", "roberta",
           {MLM: ("lm_head.",)},
           {frozenset({MLM}): "RobertaForMaskedLM", frozenset(): "RobertaModel"},
           "RobertaForSequenceClassification", True, 1, "learned, offset by the padding index", None, "lm_head", None,
           {"masking": "dynamic (new masks every time a sequence is seen)", "pair task": "none (NSP removed)",
            "distilled": "no", "paper": "Liu et al. 2019"}),
    Family("distilbert", "DistilBERT", "distilbert",
           {MLM: ("vocab_projector.", "vocab_transform.")},
           {frozenset({MLM}): "DistilBertForMaskedLM", frozenset(): "DistilBertModel"},
           "DistilBertForSequenceClassification", False, None, "learned", None, None, None,
           {"masking": "dynamic", "pair task": "none (NSP removed, no segment embeddings)",
            "distilled": "yes (from BERT-base: soft targets + MLM + cosine loss)", "paper": "Sanh et al. 2019"}),
    Family("albert", "ALBERT", "albert",
           {MLM: ("predictions.",), PAIR: ("sop_classifier.",)},
           {frozenset({MLM, PAIR}): "AlbertForPreTraining", frozenset({MLM}): "AlbertForMaskedLM",
            frozenset(): "AlbertModel"},
           "AlbertForSequenceClassification", True, 2, "learned", "sop", "predictions", "sop_classifier",
           {"masking": "static, n-gram spans (up to 3 words)", "pair task": "SOP (sentence order)",
            "distilled": "no (parameters shared across layers, factorized embeddings)", "paper": "Lan et al. 2020"}),
    Family("electra", "ELECTRA", "electra",
           {MLM: ("generator_lm_head.", "generator_predictions."), RTD: ("discriminator_predictions.",)},
           {frozenset({MLM}): "ElectraForMaskedLM", frozenset({RTD}): "ElectraForPreTraining",
            frozenset(): "ElectraModel"},
           "ElectraForSequenceClassification", True, 2, "learned", None, None, None,
           {"masking": "generator: MLM on 15%; discriminator: replaced-token detection on every token",
            "pair task": "none", "distilled": "no (generator + discriminator)", "paper": "Clark et al. 2020"}),
    Family("modernbert", "ModernBERT", "model",
           {MLM: ("head.", "decoder.")},
           {frozenset({MLM}): "ModernBertForMaskedLM", frozenset(): "ModernBertModel"},
           "ModernBertForSequenceClassification", False, None, "rotary", None, None, None,
           {"masking": "dynamic, 30% of tokens", "pair task": "none", "distilled": "no",
            "paper": "Warner et al. 2024"}),
)}

SUPPORTED = ", ".join(f"{f.name} ({f.model_type})" for f in FAMILIES.values())


def family(model_type: str | None) -> Family | None:
    return FAMILIES.get(model_type or "")


def heads_from_weights(fam: Family, keys) -> frozenset:
    """The pre-training heads whose weights are in the checkpoint (by name)."""
    found = set()
    for head, prefixes in fam.head_prefixes.items():
        if any(k.startswith(p) for k in keys for p in prefixes):
            found.add(head)
    return frozenset(found)


def model_class(fam: Family, heads: frozenset) -> tuple[str, frozenset]:
    """(class name, heads it will use): the class holding exactly `heads`; with no such class, the largest
    subset that has one (the other heads are reported as not loaded, never given random weights)."""
    if heads in fam.classes:
        return fam.classes[heads], heads
    best = max((h for h in fam.classes if h <= heads), key=len)
    return fam.classes[best], best


def tokenizer_kind(tokenizer) -> str:
    """'WordPiece' | 'byte-level BPE' | 'BPE' | 'SentencePiece (Unigram)' | the backend model's name."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    kind = type(getattr(backend, "model", None)).__name__ if backend is not None else type(tokenizer).__name__
    if kind == "BPE":
        pre = str(getattr(backend, "pre_tokenizer", ""))
        return "byte-level BPE" if "ByteLevel" in pre else "BPE"
    if kind == "Unigram":
        return "SentencePiece (Unigram)"
    return kind


def word_start_marker(tokenizer) -> tuple[str, str]:
    """How the tokenizer spells word boundaries: ('continues', '##') for WordPiece, ('starts', 'Ġ') for byte-level
    BPE, ('starts', '▁') for SentencePiece."""
    kind = tokenizer_kind(tokenizer)
    if kind == "byte-level BPE":
        return "starts", "Ġ"
    if kind.startswith("SentencePiece"):
        return "starts", "▁"
    return "continues", "##"


# ---- the family overview: each loaded checkpoint beside the recipe table ------------------------------------

def objectives(info) -> str:
    """The pre-training objectives this checkpoint's heads show (from its weights, not its name)."""
    fam = FAMILIES[info.model_type]
    parts = []
    if info.has_mlm:
        parts.append("MLM (generator)" if fam.model_type == "electra" else "MLM")
    if info.has_nsp:
        parts.append("NSP")
    if info.has_sop:
        parts.append("SOP")
    if info.has_rtd:
        parts.append("replaced-token detection")
    return " + ".join(parts) or "none (encoder only: no pre-training head kept)"


def overview(bundle) -> dict:
    """One row of the family overview, read from the loaded checkpoint's config and weights."""
    info, fam, cfg = bundle.info, bundle.info.family, bundle.encoder.config
    emb = getattr(cfg, "embedding_size", None)
    return {
        "checkpoint": info.name, "family": fam.name, "class": info.model_class,
        "parameters": info.parameters, "layers": info.layers, "heads": info.heads, "hidden size": info.hidden_size,
        "embedding size": emb if emb is not None else info.hidden_size,
        "vocabulary": info.vocab_size, "tokenizer": tokenizer_kind(bundle.tokenizer),
        "special tokens": " ".join(str(t) for t in (bundle.tokenizer.cls_token, bundle.tokenizer.sep_token,
                                                     bundle.tokenizer.mask_token)),
        "positions": fam.positions + ("" if fam.positions == "rotary" else f", up to {info.max_length}"),
        "segments": "none" if fam.segment_types is None else str(getattr(cfg, "type_vocab_size", fam.segment_types)),
        "heads present": ", ".join(info.heads_present) or "none",
        "objectives (from weights)": objectives(info),
    }


def recipe_table() -> list[dict]:
    """The seeds' recipe facts per family: masking, the sentence-pair task, distillation."""
    return [{"family": f.name, **f.recipe} for f in FAMILIES.values()]
