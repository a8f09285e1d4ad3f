"""Next-sentence prediction: the NSP head's probability that B really follows A.

The input is BERT's pair layout, `[CLS] A [SEP] B [SEP]`, segment 0 through the first `[SEP]`
and 1 after. The NSP head reads the final `[CLS]` vector (through the pooler) and gives two
logits: index 0 = IsNext, index 1 = NotNext (BERT's convention). Pairs come either from typed
text (`text.encode`) or from the pair builder (`pairs`), whose tokens are WordPiece strings here.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch

from ..checkpoints.models import forward
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from ..core.paths import NSP_DEMO_CORPUS as DEMO_CORPUS
from ..inputs.corpus import Document, parse_pasted
from ..inputs.text import encode, max_length, pad_batch, tokens, typed_specials, typed_specials_notice
from . import pairs

SEQ_LEN = 128  # the pair length BERT used for 90% of its pre-training steps (and our pre-training)
LABELS = ("IsNext", "NotNext")  # NSP logit order
SOP_LABELS = ("InOrder", "Swapped")  # ALBERT's SOP logit order (sentence_order_label 0 = original order)


def task(bundle) -> str | None:
    """'nsp' | 'sop' | None: the sentence-pair head this checkpoint has."""
    return bundle.info.pair_task


def labels(bundle) -> tuple[str, str]:
    return SOP_LABELS if task(bundle) == "sop" else LABELS


def no_pair_head_reason(bundle) -> str:
    """Why a checkpoint cannot score pairs, in one sentence."""
    info = bundle.info
    fam = info.family
    if fam.pair_task is None:
        return (f"'{info.name}' is a {fam.name} checkpoint, trained without a sentence-pair task "
                f"({fam.recipe.get('pair task', 'none')}), so it has no head to score pairs; the pair builder still works.")
    return (f"The checkpoint '{info.name}' has no {fam.pair_task.upper()} head "
            f"(no {'cls.seq_relationship' if fam.pair_task == 'nsp' else 'sop_classifier'} weights), so it cannot "
            "score pairs. Pick a checkpoint pre-trained with next-sentence prediction, e.g. the embedded one "
            "or bert-base-uncased.")


@dataclass(frozen=True)
class Packed:
    """`[CLS] A [SEP] B [SEP]` as the model receives it."""

    tokens: list[str]
    input_ids: list[int]
    segments: list[int]  # 0 through the first [SEP], 1 after
    truncated: bool  # True when tokens were cut to fit the length budget
    full_length: int  # length before cutting
    notices: tuple[Notice, ...] = ()  # how typed text was read (e.g. a typed [SEP]), for the user

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def b_start(self) -> int:
        return self.segments.index(1)

    @property
    def identical(self) -> bool:
        """A and B are the same tokens: scored all the same, but worth a note."""
        b = self.b_start
        return self.input_ids[1:b - 1] == self.input_ids[b:-1]


@dataclass(frozen=True)
class NspScore:
    model: str
    packed: Packed
    is_next_probability: float  # label 0's probability: IsNext (NSP) or in order (SOP)
    head_output: tuple[float, float]  # the pair head's logits (IsNext, NotNext) or (InOrder, Swapped)
    task: str = "nsp"  # 'nsp' | 'sop'

    @property
    def prediction(self) -> str:
        names = SOP_LABELS if self.task == "sop" else LABELS
        return names[0] if self.is_next_probability >= 0.5 else names[1]

    def to_dict(self) -> dict:
        """The CLI's `nsp --json`: P(IsNext) (NSP) or P(in order) (ALBERT's SOP), with the packed tokens."""
        p = {"in_order_probability": self.is_next_probability} if self.task == "sop" else \
            {"is_next_probability": self.is_next_probability}
        head = {"task": "sop"} if self.task == "sop" else {}
        return {**head, "model": self.model, **p, "tokens": self.packed.tokens, "segments": self.packed.segments}


@dataclass(frozen=True)
class BatchScore:
    model: str
    probabilities: list[float]  # IsNext probability per pair
    labels: list[bool]  # the truth: True = IsNext
    accuracy: float
    confusion: list[list[int]]  # [true IsNext, true NotNext] x [predicted IsNext, predicted NotNext]

    @property
    def predictions(self) -> list[bool]:
        return [p >= 0.5 for p in self.probabilities]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Corpus:
    """Documents ready for the pair builder, with what they can and cannot give (as notices)."""

    documents: list[Document]
    token_docs: list[list[list[str]]]  # per document, per sentence: WordPiece strings
    notices: tuple[Notice, ...]


# ---- corpora ------------------------------------------------------------------------------

def demo_documents() -> list[Document]:
    """The short everyday-topics corpus shipped in assets/ (written for this project)."""
    return parse_pasted(DEMO_CORPUS.read_text(encoding="utf-8"))


def token_docs(tokenizer, documents: Sequence[Document]) -> list[list[list[str]]]:
    """Documents -> token docs for `pairs`: each sentence tokenized once into WordPiece strings.
    Sentences with no tokens are dropped; documents keep their index (possibly empty)."""
    out = []
    for doc in documents:
        sents = [tokens(tokenizer, s) for s in doc.sentences]  # no [CLS]/[SEP]
        out.append([s for s in sents if s])
    return out


def read_corpus(tokenizer, documents: Sequence[Document]) -> Corpus:
    """Documents -> a `Corpus`: each sentence tokenized once, plus the notices for the user."""
    notes = _corpus_notes(documents)
    if typed := typed_specials_notice(typed_specials(tokenizer, *(s for d in documents for s in d.sentences))):
        notes.append(typed)
    return Corpus(list(documents), token_docs(tokenizer, documents), tuple(map(warning, notes)))


def _corpus_notes(documents: Sequence[Document]) -> list[str]:
    """What a corpus can and cannot give the pair builder, as messages for a user."""
    if not documents:
        return ["The corpus is empty: paste documents separated by a blank line."]
    notes = []
    single = [d.title for d in documents if len(d.sentences) == 1]
    if len(documents) == 1:
        notes.append("The corpus has only one document, so NotNext pairs are impossible (NotNext takes B from a "
                     "different document). Separate documents with a blank line.")
    if len(single) == len(documents):
        notes.append("Every document has a single sentence, so IsNext pairs are impossible (B must be the "
                     "sentence that follows A in the same document).")
    elif single:
        notes.append(f"{len(single)} document(s) have a single sentence ({', '.join(single[:5])}"
                     f"{', …' if len(single) > 5 else ''}): they can give NotNext sentences but never an IsNext pair.")
    return notes


def pair_budget(bundle, seq_len: int = SEQ_LEN) -> int:
    """Tokens left for A + B once [CLS] and two [SEP] are counted."""
    return min(seq_len, max_length(bundle)) - 3


def draw_pairs(docs, n: int, seed: int, max_tokens: int) -> list[pairs.Pair]:
    """`n` pairs drawn independently with the package's pair builder (labels 50/50)."""
    rng = random.Random(seed)
    return [pairs.draw_pair(docs, rng, max_tokens) for _ in range(n)]


def sample_pair(docs, seed: int, max_tokens: int, is_next: bool | None = None, order: bool = False) -> pairs.Pair:
    """The pair a page shows for a seed: one `pairs.draw_pair` with a seeded generator; `order`: a
    sentence-order pair (`pairs.draw_order_pair`; `is_next` then means 'in order')."""
    if order:
        return pairs.draw_order_pair(docs, random.Random(seed), max_tokens, is_next)
    return pairs.draw_pair(docs, random.Random(seed), max_tokens, is_next)


def draw_order_pairs(docs, n: int, seed: int, max_tokens: int) -> list[pairs.Pair]:
    """`n` sentence-order pairs (in order / swapped 50/50) from the same pair builder."""
    rng = random.Random(seed)
    return [pairs.draw_order_pair(docs, rng, max_tokens) for _ in range(n)]


def pair_origin(documents: Sequence[Document], pair: pairs.Pair) -> str:
    """Where A and B come from, e.g. 'A: Document 3, sentences 2-3 · B: Document 9, sentence 1'."""
    def where(doc: int, span: tuple[int, int]) -> str:
        first, last = span[0] + 1, span[1]
        return f"{documents[doc].title}, " + (f"sentence {first}" if last <= first else f"sentences {first}–{last}")
    return f"A: {where(pair.a_doc, pair.a_span)}  ·  B: {where(pair.b_doc, pair.b_span)}"


def pair_text(tokenizer, tokens: Sequence[str]) -> str:
    """WordPiece strings back to readable text ('un ##aff ##able' -> 'unaffable')."""
    return tokenizer.convert_tokens_to_string(list(tokens))


# ---- packing ------------------------------------------------------------------------------

def encode_pair(bundle, text_a: str, text_b: str) -> Packed:
    """Typed text -> packed pair (cleaned, truncated to the model's maximum, longer side first)."""
    if text_a is None or text_b is None:
        raise PlaygroundError("Next-sentence prediction needs two sentences: A and B.")
    enc = encode(bundle, text_a, text_b)
    if enc.sentence_b_start is None or enc.sentence_b_start < 3 or enc.sentence_b_start >= len(enc) - 1:
        which = "A" if enc.sentence_b_start is None or enc.sentence_b_start < 3 else "B"
        raise PlaygroundError(f"Sentence {which} has no tokens this tokenizer keeps: type a sentence.")
    typed = typed_specials_notice(typed_specials(bundle.tokenizer, text_a, text_b))
    return Packed(enc.tokens, enc.input_ids, enc.token_type_ids, enc.truncated, enc.full_length,
                  (warning(typed),) if typed else ())


def pack_pair(bundle, pair: pairs.Pair) -> Packed:
    """A `Pair` of WordPiece strings -> packed pair with `pairs.pack`."""
    if not pair.a or not pair.b:
        raise PlaygroundError(f"Sentence {'A' if not pair.a else 'B'} of the pair is empty: a pair needs tokens on both sides.")
    tok = bundle.tokenizer
    a, b = tok.convert_tokens_to_ids(list(pair.a)), tok.convert_tokens_to_ids(list(pair.b))
    ids, segments = pairs.pack(a, b, tok.cls_token_id, tok.sep_token_id)
    if len(ids) > max_length(bundle):
        raise PlaygroundError(f"The pair has {len(ids)} tokens; this model takes at most {max_length(bundle)}.")
    return Packed(tok.convert_ids_to_tokens(ids), ids, segments, pair.truncated > 0, len(ids) + pair.truncated)


# ---- scoring ------------------------------------------------------------------------------

def require_nsp(bundle) -> None:
    """The checkpoint has a sentence-pair head (BERT's NSP or ALBERT's SOP), else a clear refusal."""
    if not bundle.info.has_pair:
        raise PlaygroundError(no_pair_head_reason(bundle))


def _batch_tensors(packed: Sequence[Packed], pad_id: int) -> dict[str, torch.Tensor]:
    return pad_batch([p.input_ids for p in packed], [p.segments for p in packed], pad_id)  # (B, T) each


def nsp_logits(bundle, packed: Sequence[Packed], batch_size: int = 16) -> torch.Tensor:
    """(N, 2) NSP logits, index 0 = IsNext; pairs of similar length share a forward pass."""
    require_nsp(bundle)
    if not packed:
        raise PlaygroundError("No pairs to score.")
    pad = bundle.tokenizer.pad_token_id or 0
    order = sorted(range(len(packed)), key=lambda i: len(packed[i]))  # less padding per batch
    out = torch.empty((len(packed), 2))  # (N, 2)
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        logits = forward(bundle, _batch_tensors([packed[i] for i in idx], pad), mlm=False).nsp_logits  # (B, 2)
        out[idx] = logits.float().cpu()
    return out


def score_packed(bundle, packed: Packed) -> NspScore:
    """IsNext probability of an already packed pair (no second packing)."""
    logits = nsp_logits(bundle, [packed])[0]  # (2,)
    prob = torch.softmax(logits, dim=-1)[0].item()
    return NspScore(bundle.info.name, packed, prob, (float(logits[0]), float(logits[1])), task(bundle) or "nsp")


def score_text(bundle, text_a: str, text_b: str) -> NspScore:
    """IsNext probability of two typed sentences."""
    require_nsp(bundle)
    return score_packed(bundle, encode_pair(bundle, text_a, text_b))


def score_batch(bundle, pair_list: Sequence[pairs.Pair], batch_size: int = 16) -> BatchScore:
    """Score many pairs in a few forward passes: accuracy and the confusion matrix."""
    require_nsp(bundle)
    logits = nsp_logits(bundle, [pack_pair(bundle, p) for p in pair_list], batch_size)  # (N, 2)
    probs = torch.softmax(logits, dim=-1)[:, 0].tolist()  # (N,) P(IsNext)
    labels = [bool(p.is_next) for p in pair_list]
    confusion = [[0, 0], [0, 0]]
    for truth, p in zip(labels, probs):
        confusion[0 if truth else 1][0 if p >= 0.5 else 1] += 1
    accuracy = (confusion[0][0] + confusion[1][1]) / len(labels)
    return BatchScore(bundle.info.name, probs, labels, accuracy, confusion)
