"""Next-sentence-prediction pairs, built the way BERT builds them.

A document is a list of sentences; a sentence is a list of tokens (ids for pre-training,
WordPiece strings for the page). Sentence A is one or more consecutive sentences. Half the
time B is the text that really follows A (IsNext); half the time B comes from a different,
randomly chosen document (NotNext). An opt-in departure (`near_negative_prob`) draws a share of NotNext B
from A's own document, several sentences away: the same topic, but not what follows. Another (`person_matched_prob`)
draws a share of NotNext B from another document in the grammatical person of the text that really follows A (first
person or not), so that the person of B says nothing about the label. The pair is cut to fit the maximum length, the
longer side first (A loses tokens at its start, B at its end, so IsNext B still follows A).
The same functions feed the NSP page and pre-training.
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Sequence

from ..core.errors import PlaygroundError

Doc = Sequence[Sequence]  # list of sentences, each a list of tokens
NEAR_NEGATIVE_GAP = 3  # sentences at least between A and a near NotNext B from A's own document
FIRST_PERSON = ("i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves")  # uncased ("us": also the US)


@dataclass(frozen=True)
class Pair:
    a: list  # tokens of segment A
    b: list  # tokens of segment B
    is_next: bool
    a_doc: int
    b_doc: int
    a_span: tuple[int, int]  # sentences [start, end) of A in its document
    b_span: tuple[int, int]  # sentences [start, end) of B in its document
    truncated: int  # tokens removed to fit
    length: str = "full"  # "full" (A and B fill the budget), "short" (a random shorter budget), "sentence" (one each)
    person_matched: bool = False  # NotNext B drawn in the person of A's real continuation (`person_matched_prob`)


def check_corpus(docs: Sequence[Doc]) -> None:
    usable = [d for d in docs if len(d) >= 1]
    if not usable:
        raise PlaygroundError("The corpus is empty: give at least two documents of one or more sentences.")
    if len(usable) < 2:
        raise PlaygroundError(
            "The corpus has only one document, so no NotNext pair can be drawn: NotNext needs B from a "
            "different document. Add a second document (separate documents with a blank line)."
        )


def _flatten(sentences) -> list:
    return [t for s in sentences for t in s]


def _check_budget(max_tokens: int) -> None:
    if max_tokens < 2:
        raise PlaygroundError(f"A pair needs room for at least one token of A and one of B (max_tokens={max_tokens}).")


def truncate_pair(a: list, b: list, max_tokens: int) -> tuple[list, list, int]:
    """Remove tokens from the longer side until len(a) + len(b) <= max_tokens (A from its start,
    B from its end); each side keeps at least one token."""
    a, b = list(a), list(b)
    removed = 0
    while len(a) + len(b) > max_tokens and (len(a) > 1 or len(b) > 1):
        if len(a) >= len(b):
            a.pop(0)
        else:
            b.pop()
        removed += 1
    return a, b, removed


def _other_doc(docs, a_doc: int, rng: random.Random) -> int:
    """A uniformly random non-empty document other than A's."""
    other = rng.randrange(len(docs) - 1)
    other += other >= a_doc  # any document but A's
    if len(docs[other]):
        return other  # the usual case, one draw
    others = [j for j, d in enumerate(docs) if j != a_doc and len(d)]
    if not others:
        raise PlaygroundError("Every other document is empty, so no NotNext pair can be drawn.")
    return rng.choice(others)


def _random_b(docs, a_doc: int, target: int, rng: random.Random,
              one_sentence: bool = False) -> tuple[int, tuple[int, int]]:
    other = _other_doc(docs, a_doc, rng)
    start = rng.randrange(len(docs[other]))
    return other, _b_span(docs[other], start, len(docs[other]), target, one_sentence)


def _b_span(doc, start: int, limit: int, target: int, one_sentence: bool) -> tuple[int, int]:
    """A NotNext B's sentences [start, end): at least one (even when A used the whole budget), then more up to
    `target` tokens, never past sentence `limit`."""
    end, n = start + 1, len(doc[start])
    while not one_sentence and end < limit and n < target:
        n += len(doc[end])
        end += 1
    return start, end


def _near_b(doc, a_span: tuple[int, int], target: int, rng: random.Random,
            one_sentence: bool = False) -> tuple[int, int] | None:
    """B's sentences [start, end) from A's own document, at least NEAR_NEGATIVE_GAP sentences after A's end or
    before A's start (so never the text that follows A); None when the document is too short."""
    a_start, a_end = a_span
    after = range(a_end + NEAR_NEGATIVE_GAP, len(doc))
    before = range(0, a_start - NEAR_NEGATIVE_GAP)  # B must also end NEAR_NEGATIVE_GAP sentences before A
    n_options = len(after) + len(before)
    if not n_options:
        return None
    k = rng.randrange(n_options)
    start = after[k] if k < len(after) else before[k - len(after)]
    limit = len(doc) if start >= a_end else a_start - NEAR_NEGATIVE_GAP
    return _b_span(doc, start, limit, target, one_sentence)


def first_person(sentence, tokens: frozenset) -> bool:
    """Whether a sentence has a first-person pronoun; `tokens` are FIRST_PERSON's, as ids or as strings."""
    return not tokens.isdisjoint(sentence)


@dataclass(frozen=True)
class PersonIndex:
    """Where a corpus's first-person sentences are, to draw a NotNext B in a chosen grammatical person."""
    tokens: frozenset  # FIRST_PERSON's tokens, as the corpus writes them
    sentences: dict  # document -> its first-person sentences (documents without any left out)
    docs: tuple  # the documents with a first-person sentence (the keys of `sentences`)


def person_index(docs: Sequence[Doc], tokens) -> PersonIndex:
    tokens = frozenset(tokens)
    found = {i: [s for s, sent in enumerate(doc) if first_person(sent, tokens)] for i, doc in enumerate(docs)}
    found = {i: ss for i, ss in found.items() if ss}
    return PersonIndex(tokens, found, tuple(found))


def _person_b(docs, a_doc: int, want_first: bool, index: PersonIndex, target: int, rng: random.Random,
              one_sentence: bool, tries: int = 20) -> tuple[int, tuple[int, int]] | None:
    """A NotNext B from another document whose first sentence is in the first person exactly when `want_first`:
    a random document (among those with such a sentence, for the first person), then a random such sentence in it;
    None when `tries` draws find none."""
    for _ in range(tries):
        if want_first:
            if not index.docs:
                return None
            other = index.docs[rng.randrange(len(index.docs))]
            start = rng.choice(index.sentences[other])
        else:
            other = _other_doc(docs, a_doc, rng)
            start = rng.randrange(len(docs[other]))
        if other != a_doc and first_person(docs[other][start], index.tokens) == want_first:
            return other, _b_span(docs[other], start, len(docs[other]), target, one_sentence)
    return None


def pair_at(docs: Sequence[Doc], doc_index: int, start: int, rng: random.Random, max_tokens: int,
            is_next: bool | None = None, is_next_prob: float = 0.5, one_sentence: bool = False,
            near: bool = False, person: PersonIndex | None = None) -> Pair:
    """One pair whose A starts at sentence `start` of document `doc_index`.

    A takes consecutive sentences until about half the budget is used (at least one, and
    leaving one for B when the document goes on); B is then the continuation or a random
    other document's text. `is_next=None` draws the label with probability `is_next_prob`.
    `one_sentence=True` makes A and B one sentence each: the short, everyday pairs people type.
    `near=True` takes a NotNext B from A's own document when it is long enough (`_near_b`), else from another.
    `person` (not with `near`) takes a NotNext B from another document in the person of A's real continuation.
    """
    _check_budget(max_tokens)
    doc = docs[doc_index]
    budget = max_tokens  # tokens for A + B, specials excluded
    end, n = start + 1, len(doc[start])
    while not one_sentence and end < len(doc) - 1 and n + len(doc[end]) <= budget // 2:
        n += len(doc[end])
        end += 1
    if is_next is None:
        is_next = rng.random() < is_next_prob
    has_continuation = end < len(doc)
    matched = None  # (document, span) of a person-matched NotNext B
    if is_next and not has_continuation:
        raise PlaygroundError("This sentence is the last of its document, so it has no next sentence for IsNext.")
    if is_next:
        b_end, m = end + 1, len(doc[end])
        while not one_sentence and b_end < len(doc) and m + len(doc[b_end]) <= budget - n:
            m += len(doc[b_end])
            b_end += 1
        b_doc, b_span = doc_index, (end, b_end)
    elif near and (span := _near_b(doc, (start, end), budget - n, rng, one_sentence)) is not None:
        b_doc, b_span = doc_index, span
    elif person is not None and has_continuation and (matched := _person_b(
            docs, doc_index, first_person(doc[end], person.tokens), person, budget - n, rng, one_sentence)):
        b_doc, b_span = matched
    else:
        b_doc, b_span = _random_b(docs, doc_index, budget - n, rng, one_sentence)
    a, b, cut = truncate_pair(_flatten(doc[start:end]), _flatten(docs[b_doc][b_span[0]:b_span[1]]), budget)
    return Pair(a, b, is_next, doc_index, b_doc, (start, end), b_span, cut,
                "sentence" if one_sentence else "full", person_matched=matched is not None)


def draw_pair(docs: Sequence[Doc], rng: random.Random, max_tokens: int, is_next: bool | None = None) -> Pair:
    """A random pair from the corpus (for the page): a random document with at least two sentences
    (when IsNext is wanted or drawn), a random start that leaves a continuation."""
    if is_next is not True:
        check_corpus(docs)  # NotNext needs a second document; IsNext alone works within one
    if is_next is None:
        is_next = rng.random() < 0.5
    candidates = [i for i, d in enumerate(docs) if len(d) >= (2 if is_next else 1)]
    if not candidates:
        raise PlaygroundError("No document has two sentences or more, so no IsNext pair can be drawn.")
    i = rng.choice(candidates)
    start = rng.randrange(len(docs[i]) - 1) if len(docs[i]) > 1 else 0
    return pair_at(docs, i, start, rng, max_tokens, is_next=is_next)


def order_pair(pair: Pair, swapped: bool) -> Pair:
    """ALBERT's sentence-order prediction: an IsNext pair as it is (in order) or with A and B swapped.
    `is_next` then means 'in order' (label 0 of the SOP head, as IsNext is label 0 of the NSP head)."""
    if not pair.is_next:
        raise PlaygroundError("Sentence-order pairs are built from consecutive text (an IsNext pair).")
    if not swapped:
        return pair
    return dataclasses.replace(pair, a=pair.b, b=pair.a, is_next=False, a_doc=pair.b_doc, b_doc=pair.a_doc,
                               a_span=pair.b_span, b_span=pair.a_span)


def draw_order_pair(docs: Sequence[Doc], rng: random.Random, max_tokens: int, in_order: bool | None = None) -> Pair:
    """A random sentence-order pair: a consecutive pair from `draw_pair`, swapped half the time."""
    if in_order is None:
        in_order = rng.random() < 0.5
    return order_pair(draw_pair(docs, rng, max_tokens, is_next=True), swapped=not in_order)


def make_pairs(docs: Sequence[Doc], rng: random.Random, max_tokens: int, is_next_prob: float = 0.5,
               short_seq_prob: float = 0.0, sentence_pair_prob: float = 0.0,
               near_negative_prob: float = 0.0, person_matched_prob: float = 0.0,
               first_person_tokens=()) -> list[Pair]:
    """One pass over a corpus, BERT-style: walk each document, emitting pairs whose A covers it
    chunk after chunk. Used by pre-training for every epoch (with a new rng: new pairs).

    `sentence_pair_prob`: that share of pairs is one sentence A and one sentence B (IsNext: the
    next sentence; NotNext: one sentence of another document), like the everyday pairs people type
    on the NSP page; BERT's packed ~128-token segments alone leave a model unsure on those.
    `short_seq_prob` is BERT's: that share of the other pairs gets a random length budget in
    [2, max_tokens], so the model also sees short pairs (BERT used 0.1; 0 keeps every pair near the maximum).
    `near_negative_prob` (a departure from BERT, off by default): that share of NotNext pairs takes B from A's own
    document, at least NEAR_NEGATIVE_GAP sentences away, so the pair head cannot tell NotNext by a change of topic
    alone and must judge whether B follows A (the argument of ALBERT's sentence-order task); a document too short for
    it gives an ordinary NotNext pair.
    `person_matched_prob` (a departure from BERT, off by default): that share of the other NotNext pairs takes B from
    another document in the person of A's real continuation (`first_person_tokens`, FIRST_PERSON as the corpus writes
    them, say which sentences are first person). In Wikipedia a random B is almost never first person, so without it
    "A and B both say I or we" alone predicts IsNext, a cue that fails on the everyday pairs people type; when no such
    B turns up (`_person_b`), the pair is an ordinary NotNext pair.
    All four at 0 draw exactly the random numbers (and pairs) BERT's recipe alone draws.
    """
    for what, p in (("short_seq_prob", short_seq_prob), ("sentence_pair_prob", sentence_pair_prob),
                    ("near_negative_prob", near_negative_prob), ("person_matched_prob", person_matched_prob)):
        if not 0.0 <= p <= 1.0:
            raise PlaygroundError(f"{what} must be between 0 and 1, not {p}.")
    if person_matched_prob and not first_person_tokens:
        raise PlaygroundError("person_matched_prob needs first_person_tokens: the corpus's tokens for I, we, my...")
    check_corpus(docs)
    index = person_index(docs, first_person_tokens) if person_matched_prob else None
    pairs = []
    for i, doc in enumerate(docs):
        start = 0
        # The label is drawn only where both labels are possible; a last sentence left alone is
        # dropped (emitting it as NotNext only would tilt the split towards NotNext).
        while start < len(doc) - 1:
            want_next = rng.random() < is_next_prob
            one = sentence_pair_prob > 0 and rng.random() < sentence_pair_prob
            budget = max_tokens
            if not one and short_seq_prob > 0 and rng.random() < short_seq_prob:
                budget = rng.randint(2, max_tokens)
            near = not want_next and near_negative_prob > 0 and rng.random() < near_negative_prob
            person = not want_next and not near and index is not None and rng.random() < person_matched_prob
            p = pair_at(docs, i, start, rng, budget, is_next=want_next, one_sentence=one, near=near,
                        person=index if person else None)
            if budget < max_tokens:
                p = dataclasses.replace(p, length="short")
            pairs.append(p)
            start = p.b_span[1] if p.is_next else p.a_span[1]
    if not pairs:
        raise PlaygroundError("No document has two sentences or more, so no pair can be made.")
    return pairs


def pack(a: list[int], b: list[int], cls_id: int, sep_id: int) -> tuple[list[int], list[int]]:
    """[CLS] A [SEP] B [SEP] and its segment ids: 0 through the first [SEP], 1 after."""
    ids = [cls_id, *a, sep_id, *b, sep_id]
    segments = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return ids, segments
