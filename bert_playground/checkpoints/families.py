"""The BERT family: what each supported `model_type` has, and which transformers classes load it.

One `Family` per model_type. Heads are recognised from weight names (never invented): a checkpoint is loaded
with the class that holds exactly the heads its weights have. Everything downstream (encoding, masking, fill,
attention, NSP/SOP, fine-tuning) reads these descriptions instead of assuming BERT.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MLM, PAIR, RTD = "mlm", "pair", "rtd"  # the pre-training heads a checkpoint may carry


@dataclass(frozen=True, kw_only=True)
class Family:
    model_type: str  # config.json's model_type
    name: str  # what the pages call it
    base: str  # attribute of the head classes that holds the encoder ('bert', 'roberta', ..., 'model')
    head_prefixes: dict  # head -> weight-name prefixes that prove the head is there
    classes: dict  # frozenset of heads -> transformers class name that holds exactly those heads
    segments: bool  # the model takes token_type_ids (segment embeddings)
    segment_types: int | None  # segment types it was trained with (None: no segment embeddings at all)
    positions: str  # 'learned' | 'learned, offset by the padding index' | 'rotary'
    pair_task: str | None  # 'nsp' | 'sop' | None: the sentence-pair objective of its pre-training
    # The head parts, by attribute path in the model class that holds them ('gelu', 'tanh', 'relu' and 'cls_row'
    # are the functions of `parts.FUNCTIONS`); `parts.run(model, steps, x)` applies them in order.
    mlm_head: str | None  # the MLM head: hidden states (.., D) -> vocabulary logits (.., V); None: no single module
    mlm_transform: tuple[str, ...] = ()  # the MLM head's steps before its vocabulary projection; (): no split
    mlm_decoder: str | None = None  # the vocabulary projection (an nn.Linear, tied to the word embeddings)
    pair_head: str | None = None  # the pair head: the pooled output (B, D) -> 2 logits (NSP or SOP)
    pooler: str | None = None  # the encoder's pooler (the [CLS] vector -> dense + tanh); None: the family has none
    sequence_classification: str  # the class fine-tuning builds for a text or a pair
    cls_head: tuple[str, ...]  # that class's steps from the [CLS] vector (B, D) to logits (B, C)
    token_classification: str  # the class fine-tuning builds for a tag per token
    token_head: tuple[str, ...] = ("dropout", "classifier")  # its steps from (B, T, D) to (B, T, C)
    question_answering: str  # the class fine-tuning builds for answer spans
    qa_head: tuple[str, ...] = ("qa_outputs",)  # its steps from (B, T, D) to (B, T, 2): start and end logits
    # Inside the encoder (paths from the bare encoder, for interventions): its list of layers (None: the layers
    # share one set of weights, as ALBERT's, so a hook cannot tell them apart), then per layer the projection that
    # reads the heads' concatenated context vectors and the feed-forward block's last projection.
    layers: str | None = "encoder.layer"
    attention_output: str = "attention.output.dense"  # its input: (B, T, H * d_head), head h at [h*d, (h+1)*d)
    ffn_output: str = "output.dense"
    recipe: dict = field(default_factory=dict)  # the seeds' recipe facts (masking, pair task, distillation, ...)


def _cls(**kw) -> dict:
    return {frozenset(k.split("+")) if k != "none" else frozenset(): v for k, v in kw.items()}


FAMILIES: dict[str, Family] = {f.model_type: f for f in (
    Family(model_type="bert", name="BERT", base="bert",
           head_prefixes={MLM: ("cls.predictions.",), PAIR: ("cls.seq_relationship.",)},
           classes={frozenset({MLM, PAIR}): "BertForPreTraining", frozenset({MLM}): "BertForMaskedLM",
                    frozenset({PAIR}): "BertForNextSentencePrediction", frozenset(): "BertModel"},
           segments=True, segment_types=2, positions="learned", pair_task="nsp",
           mlm_head="cls.predictions", mlm_transform=("cls.predictions.transform",),
           mlm_decoder="cls.predictions.decoder", pair_head="cls.seq_relationship", pooler="bert.pooler",
           sequence_classification="BertForSequenceClassification",
           cls_head=("cls_row", "bert.pooler", "dropout", "classifier"),
           token_classification="BertForTokenClassification", question_answering="BertForQuestionAnswering",
           recipe={"masking": "static (masks drawn once, reused each epoch)", "pair task": "NSP (next sentence)",
                   "distilled": "no", "paper": "Devlin et al. 2019"}),
    Family(model_type="roberta", name="RoBERTa", base="roberta",
           head_prefixes={MLM: ("lm_head.",)},
           classes={frozenset({MLM}): "RobertaForMaskedLM", frozenset(): "RobertaModel"},
           segments=True, segment_types=1, positions="learned, offset by the padding index", pair_task=None,
           mlm_head="lm_head", mlm_transform=("lm_head.dense", "gelu", "lm_head.layer_norm"),
           mlm_decoder="lm_head.decoder",
           sequence_classification="RobertaForSequenceClassification", cls_head=("cls_row", "classifier"),
           token_classification="RobertaForTokenClassification", question_answering="RobertaForQuestionAnswering",
           recipe={"masking": "dynamic (new masks every time a sequence is seen)", "pair task": "none (NSP removed)",
                   "distilled": "no", "paper": "Liu et al. 2019"}),
    Family(model_type="distilbert", name="DistilBERT", base="distilbert",
           head_prefixes={MLM: ("vocab_projector.", "vocab_transform.")},
           classes={frozenset({MLM}): "DistilBertForMaskedLM", frozenset(): "DistilBertModel"},
           segments=False, segment_types=None, positions="learned", pair_task=None,
           mlm_head=None, mlm_transform=("vocab_transform", "activation", "vocab_layer_norm"),
           mlm_decoder="vocab_projector",
           sequence_classification="DistilBertForSequenceClassification",
           cls_head=("pre_classifier", "relu", "dropout", "classifier"),
           token_classification="DistilBertForTokenClassification",
           question_answering="DistilBertForQuestionAnswering", qa_head=("dropout", "qa_outputs"),
           layers="transformer.layer", attention_output="attention.out_lin", ffn_output="ffn.lin2",
           recipe={"masking": "dynamic", "pair task": "none (NSP removed, no segment embeddings)",
                   "distilled": "yes (from BERT-base: soft targets + MLM + cosine loss)", "paper": "Sanh et al. 2019"}),
    Family(model_type="albert", name="ALBERT", base="albert",
           head_prefixes={MLM: ("predictions.",), PAIR: ("sop_classifier.",)},
           classes={frozenset({MLM, PAIR}): "AlbertForPreTraining", frozenset({MLM}): "AlbertForMaskedLM",
                    frozenset(): "AlbertModel"},
           segments=True, segment_types=2, positions="learned", pair_task="sop", layers=None,
           mlm_head="predictions", mlm_transform=("predictions.dense", "predictions.activation", "predictions.LayerNorm"),
           mlm_decoder="predictions.decoder", pair_head="sop_classifier", pooler="albert.pooler",
           sequence_classification="AlbertForSequenceClassification",
           cls_head=("albert.pooler", "albert.pooler_activation", "dropout", "classifier"),
           token_classification="AlbertForTokenClassification", question_answering="AlbertForQuestionAnswering",
           recipe={"masking": "static, n-gram spans (up to 3 words)", "pair task": "SOP (sentence order)",
                   "distilled": "no (parameters shared across layers, factorized embeddings)", "paper": "Lan et al. 2020"}),
    Family(model_type="electra", name="ELECTRA", base="electra",
           head_prefixes={MLM: ("generator_lm_head.", "generator_predictions."), RTD: ("discriminator_predictions.",)},
           classes={frozenset({MLM}): "ElectraForMaskedLM", frozenset({RTD}): "ElectraForPreTraining",
                    frozenset(): "ElectraModel"},
           segments=True, segment_types=2, positions="learned", pair_task=None,
           mlm_head=None, mlm_transform=("generator_predictions",), mlm_decoder="generator_lm_head",
           sequence_classification="ElectraForSequenceClassification", cls_head=("cls_row", "classifier"),
           token_classification="ElectraForTokenClassification", question_answering="ElectraForQuestionAnswering",
           recipe={"masking": "generator: MLM on 15%; discriminator: replaced-token detection on every token",
                   "pair task": "none", "distilled": "no (generator + discriminator)", "paper": "Clark et al. 2020"}),
    Family(model_type="modernbert", name="ModernBERT", base="model",
           head_prefixes={MLM: ("head.", "decoder.")},
           classes={frozenset({MLM}): "ModernBertForMaskedLM", frozenset(): "ModernBertModel"},
           segments=False, segment_types=None, positions="rotary", pair_task=None,
           mlm_head=None,  # its hidden states come before the final norm: the MLM logits need the full pass
           sequence_classification="ModernBertForSequenceClassification", cls_head=("head", "drop", "classifier"),
           token_classification="ModernBertForTokenClassification", token_head=("head", "drop", "classifier"),
           question_answering="ModernBertForQuestionAnswering", qa_head=("head", "drop", "classifier"),
           layers="layers", attention_output="attn.Wo", ffn_output="mlp.Wo",
           recipe={"masking": "dynamic, 30% of tokens", "pair task": "none", "distilled": "no",
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
