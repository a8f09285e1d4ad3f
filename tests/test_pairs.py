"""NSP pair building (bert_playground.objectives.pairs): label split, provenance, lengths, packing.

Tokens here are (document, sentence, k) tuples, so every token says where it came from.
"""
import math
import random

import pytest

from bert_playground import PlaygroundError
from bert_playground.objectives import pairs

CLS, SEP = "[CLS]", "[SEP]"


def corpus(n_docs=300, seed=1, min_sents=1, max_sents=8, min_len=3, max_len=30):
    rng = random.Random(seed)
    return [[[(d, s, k) for k in range(rng.randint(min_len, max_len))] for s in range(rng.randint(min_sents, max_sents))]
            for d in range(n_docs)]


def within_3_sigma(k, n, p=0.5):
    return abs(k - n * p) <= 3 * math.sqrt(n * p * (1 - p))


def flat(doc):
    return [t for s in doc for t in s]


def check_pair(docs, p, max_tokens):
    assert 1 <= len(p.a) and 1 <= len(p.b) and len(p.a) + len(p.b) <= max_tokens
    assert all(t[0] == p.a_doc for t in p.a) and all(t[0] == p.b_doc for t in p.b)
    a_flat, b_flat = flat(docs[p.a_doc]), flat(docs[p.b_doc])
    i, j = a_flat.index(p.a[0]), b_flat.index(p.b[0])
    assert a_flat[i:i + len(p.a)] == p.a and b_flat[j:j + len(p.b)] == p.b  # contiguous text
    assert all(p.a_span[0] <= t[1] < p.a_span[1] for t in p.a) and all(p.b_span[0] <= t[1] < p.b_span[1] for t in p.b)
    if p.is_next:  # B is the true continuation: the very next token after A's last one
        assert p.b_doc == p.a_doc and p.b_span[0] == p.a_span[1]
        assert a_flat.index(p.a[-1]) + 1 == a_flat.index(p.b[0])
    else:  # NotNext: B never from A's document
        assert p.b_doc != p.a_doc


def test_draw_pair_is_next_share_is_one_half():
    docs, rng, n = corpus(), random.Random(0), 4000
    drawn = [pairs.draw_pair(docs, rng, 60) for _ in range(n)]
    k = sum(p.is_next for p in drawn)
    assert within_3_sigma(k, n), k / n


@pytest.mark.parametrize("max_tokens", [40, 125])
def test_make_pairs_is_next_share_is_one_half(max_tokens):
    # many short documents: a walk that ends on a lone last sentence must not tilt the split to NotNext
    docs = corpus(n_docs=400)
    made = [p for seed in range(4) for p in pairs.make_pairs(docs, random.Random(seed), max_tokens)]
    assert len(made) > 1000
    assert within_3_sigma(sum(p.is_next for p in made), len(made)), sum(p.is_next for p in made) / len(made)


def test_draw_pair_forced_label_and_seeded():
    docs = corpus(50)
    for want in (True, False):
        assert all(pairs.draw_pair(docs, random.Random(s), 40, is_next=want).is_next is want for s in range(50))
    assert pairs.draw_pair(docs, random.Random(7), 40) == pairs.draw_pair(docs, random.Random(7), 40)
    assert pairs.make_pairs(docs, random.Random(3), 40) == pairs.make_pairs(docs, random.Random(3), 40)


@pytest.mark.parametrize("max_tokens", [2, 5, 13, 40, 125])
def test_provenance_and_lengths_draw_pair(max_tokens):
    docs = corpus(120, max_len=70)  # sentences longer than the budget too
    rng = random.Random(max_tokens)
    for _ in range(600):
        check_pair(docs, pairs.draw_pair(docs, rng, max_tokens), max_tokens)


@pytest.mark.parametrize("max_tokens", [2, 13, 61, 125])
def test_provenance_and_lengths_make_pairs(max_tokens):
    docs = corpus(150, max_len=70)
    made = pairs.make_pairs(docs, random.Random(max_tokens), max_tokens)
    assert made
    for p in made:
        check_pair(docs, p, max_tokens)


def test_make_pairs_walks_each_document_in_order():
    docs = corpus(30, min_sents=3)
    made = pairs.make_pairs(docs, random.Random(0), 40)
    for d in range(len(docs)):
        spans = [p.a_span for p in made if p.a_doc == d]
        assert spans and spans[0][0] == 0
        assert all(x[0] < y[0] for x, y in zip(spans, spans[1:]))


def test_truncation_cuts_longer_side_a_from_start_b_from_end():
    a, b, cut = pairs.truncate_pair(list(range(10)), list(range(100, 104)), 8)
    assert (a, b, cut) == ([6, 7, 8, 9], [100, 101, 102, 103], 6)
    a, b, cut = pairs.truncate_pair([1, 2], list(range(100, 110)), 6)
    assert (a, b, cut) == ([1, 2], [100, 101, 102, 103], 6)
    p = pairs.pair_at(corpus(5, min_len=50, max_len=60, min_sents=2), 0, 0, random.Random(0), 20, is_next=True)
    assert p.truncated > 0 and len(p.a) + len(p.b) == 20


@pytest.mark.parametrize("max_tokens", [5, 40, 125])
def test_pack_segments_zero_through_first_sep_then_one(max_tokens):
    docs = corpus(60)
    rng = random.Random(1)
    for _ in range(200):
        p = pairs.draw_pair(docs, rng, max_tokens)
        ids, seg = pairs.pack(p.a, p.b, CLS, SEP)
        first_sep = ids.index(SEP)
        assert ids[0] == CLS and ids[-1] == SEP and len(ids) == len(seg) == len(p.a) + len(p.b) + 3
        assert len(ids) <= max_tokens + 3
        assert seg[:first_sep + 1] == [0] * (first_sep + 1) and seg[first_sep + 1:] == [1] * (len(ids) - first_sep - 1)
        assert ids[1:first_sep] == p.a and ids[first_sep + 1:-1] == p.b


def test_one_document_allows_is_next_only():
    docs = corpus(1, min_sents=4)
    assert pairs.draw_pair(docs, random.Random(0), 40, is_next=True).is_next
    for label in (False, None):
        with pytest.raises(PlaygroundError, match="only one document"):
            pairs.draw_pair(docs, random.Random(0), 40, is_next=label)
    with pytest.raises(PlaygroundError, match="only one document"):
        pairs.make_pairs(docs, random.Random(0), 40)


def test_single_sentence_documents():
    docs = corpus(10, min_sents=1, max_sents=1)
    assert not pairs.draw_pair(docs, random.Random(0), 40, is_next=False).is_next
    with pytest.raises(PlaygroundError, match="two sentences"):
        pairs.draw_pair(docs, random.Random(0), 40, is_next=True)
    with pytest.raises(PlaygroundError, match="two sentences"):
        pairs.make_pairs(docs, random.Random(0), 40)
    with pytest.raises(PlaygroundError, match="no next sentence"):
        pairs.pair_at(docs, 0, 0, random.Random(0), 40, is_next=True)


@pytest.mark.parametrize("docs", [[], [[]], [[], []]])
def test_empty_corpus(docs):
    with pytest.raises(PlaygroundError, match="empty"):
        pairs.draw_pair(docs, random.Random(0), 40)


def test_empty_documents_are_skipped_for_not_next_b():
    docs = [[[("a", 0, 0)] * 3, [("a", 1, 0)] * 3], [], [], [[("c", 0, 0)] * 3]]
    for s in range(100):
        p = pairs.draw_pair(docs, random.Random(s), 20, is_next=False)
        assert p.b_doc in (0, 3) and p.b_doc != p.a_doc and p.b


def test_not_next_b_is_never_empty_when_a_fills_the_budget():
    docs = [[[("a", 0, k) for k in range(50)], [("a", 1, 0)]], [[("b", 0, 0)] * 5, [("b", 1, 0)] * 5]]
    p = pairs.pair_at(docs, 0, 0, random.Random(0), 20, is_next=False)
    assert p.b and p.a and len(p.a) + len(p.b) == 20


def test_budget_too_small():
    with pytest.raises(PlaygroundError, match="at least one token"):
        pairs.draw_pair(corpus(5), random.Random(0), 1)


def test_short_seq_prob_gives_short_pairs_within_bounds():
    docs = corpus(300, max_len=40)
    full = pairs.make_pairs(docs, random.Random(0), 100)
    assert pairs.make_pairs(docs, random.Random(0), 100, short_seq_prob=0.0) == full  # default unchanged
    mixed = pairs.make_pairs(docs, random.Random(0), 100, short_seq_prob=0.5)
    short = [len(p.a) + len(p.b) for p in mixed if len(p.a) + len(p.b) < 30]
    assert len(short) > 3 * sum(len(p.a) + len(p.b) < 30 for p in full)
    for p in mixed:
        check_pair(docs, p, 100)
    assert within_3_sigma(sum(p.is_next for p in mixed), len(mixed))


@pytest.mark.parametrize("share", [0.1, 0.3, 0.7])
def test_sentence_pair_share_is_within_3_sigma_of_the_setting(share):
    docs = corpus(400, max_len=40)
    ps = pairs.make_pairs(docs, random.Random(7), 100, short_seq_prob=0.1, sentence_pair_prob=share)
    one = [p for p in ps if p.length == "sentence"]
    assert within_3_sigma(len(one), len(ps), share)
    for p in one:  # one whole sentence each side (nothing cut: these sentences fit the budget)
        assert p.a_span[1] - p.a_span[0] == 1 and p.b_span[1] - p.b_span[0] == 1 and p.truncated == 0
        assert p.a == list(docs[p.a_doc][p.a_span[0]]) and p.b == list(docs[p.b_doc][p.b_span[0]])
        if p.is_next:
            assert p.b_doc == p.a_doc and p.b_span[0] == p.a_span[1]  # the very next sentence
        else:
            assert p.b_doc != p.a_doc
        check_pair(docs, p, 100)
    assert within_3_sigma(sum(p.is_next for p in one), len(one))  # IsNext/NotNext stays 50/50 among them
    others = [p for p in ps if p.length != "sentence"]
    assert within_3_sigma(sum(p.length == "short" for p in others), len(others), 0.1)  # BERT's 10% on the rest


def test_sentence_pairs_are_shorter_than_packed_ones():
    docs = corpus(300, max_len=40)
    ps = pairs.make_pairs(docs, random.Random(3), 100, sentence_pair_prob=0.5)
    mean = lambda xs: sum(len(p.a) + len(p.b) for p in xs) / len(xs)  # noqa: E731
    sentence_mean = sum(len(s) for d in docs for s in d) / sum(len(d) for d in docs)
    one = mean([p for p in ps if p.length == "sentence"])
    assert abs(one - 2 * sentence_mean) < 0.15 * 2 * sentence_mean  # two sentences' worth, not a packed budget
    assert one < 0.75 * mean([p for p in ps if p.length == "full"])


def test_zero_sentence_share_keeps_berts_pairs_exactly():
    docs = corpus(200, max_len=40)
    assert pairs.make_pairs(docs, random.Random(0), 100, short_seq_prob=0.1, sentence_pair_prob=0.0) == \
        pairs.make_pairs(docs, random.Random(0), 100, short_seq_prob=0.1)


def check_near_pair(docs, p, max_tokens):
    """A near NotNext pair: B from A's own document, contiguous, at least NEAR_NEGATIVE_GAP sentences from A on
    the side it lies (so never A's continuation, nor overlapping it)."""
    assert not p.is_next and p.b_doc == p.a_doc
    assert 1 <= len(p.a) and 1 <= len(p.b) and len(p.a) + len(p.b) <= max_tokens
    b_flat = flat(docs[p.b_doc])
    j = b_flat.index(p.b[0])
    assert b_flat[j:j + len(p.b)] == p.b
    gap = pairs.NEAR_NEGATIVE_GAP
    assert p.b_span[0] >= p.a_span[1] + gap or p.b_span[1] <= p.a_span[0] - gap, (p.a_span, p.b_span)
    assert all(p.b_span[0] <= t[1] < p.b_span[1] for t in p.b)


@pytest.mark.parametrize("share", [0.3, 0.8])
def test_near_negative_share_is_within_3_sigma_and_never_the_continuation(share):
    # long documents of 5+-token sentences: A (at most 4 sentences of a 20-token half budget) always leaves room
    docs = corpus(200, min_sents=12, max_sents=20, min_len=5, max_len=30)
    ps = pairs.make_pairs(docs, random.Random(5), 40, sentence_pair_prob=0.25, near_negative_prob=share)
    not_next = [p for p in ps if not p.is_next]
    near = [p for p in not_next if p.b_doc == p.a_doc]
    assert within_3_sigma(len(near), len(not_next), share), len(near) / len(not_next)
    assert within_3_sigma(sum(p.is_next for p in ps), len(ps))  # the label split is untouched
    for p in near:
        check_near_pair(docs, p, 40)
        if p.length == "sentence":
            assert p.b_span[1] - p.b_span[0] == 1
    before = sum(p.b_span[1] <= p.a_span[0] for p in near)
    assert 0 < before < len(near)  # B is drawn on both sides of A
    for p in ps:
        if p not in near:
            check_pair(docs, p, 40)


def test_near_negatives_fall_back_to_another_document_when_a_document_is_short():
    docs = corpus(200, min_sents=2, max_sents=4)  # no sentence is 3 away from A: every NotNext is ordinary
    ps = pairs.make_pairs(docs, random.Random(2), 60, near_negative_prob=1.0)
    assert sum(not p.is_next for p in ps) > 50
    for p in ps:
        check_pair(docs, p, 60)


def test_zero_near_negative_share_keeps_berts_pairs_exactly():
    docs = corpus(200, max_len=40)
    assert pairs.make_pairs(docs, random.Random(0), 100, short_seq_prob=0.1, near_negative_prob=0.0,
                            person_matched_prob=0.0, first_person_tokens={(0, 0, 0)}) == \
        pairs.make_pairs(docs, random.Random(0), 100, short_seq_prob=0.1)


@pytest.mark.parametrize("kw", [{"sentence_pair_prob": 1.5}, {"short_seq_prob": -0.1}, {"near_negative_prob": 1.01},
                                {"person_matched_prob": 1.2}])
def test_pair_shares_outside_0_1_are_a_clear_error(kw):
    with pytest.raises(PlaygroundError, match="between 0 and 1"):
        pairs.make_pairs(corpus(5), random.Random(0), 50, **kw)


def first_person_corpus(n_docs=400, seed=3):
    """Documents as Wikipedia has them: a few (1 in 5) are mostly first person (a quotation, a memoir), the rest
    almost never. A sentence is first person when its first token is in the returned set."""
    docs, rng = corpus(n_docs, seed=seed, min_sents=4, max_sents=12), random.Random(seed)
    marked = set()
    for d, doc in enumerate(docs):
        rate = 0.8 if rng.random() < 0.2 else 0.02
        marked |= {sent[0] for sent in doc if rng.random() < rate}
    return docs, frozenset(marked)


def b_first_person_share(docs, ps, fp):
    """Of these pairs, the share whose B starts with a first-person sentence."""
    return sum(pairs.first_person(docs[p.b_doc][p.b_span[0]], fp) for p in ps) / len(ps)


def test_first_person_reads_the_pronouns_as_tokens():
    fp = frozenset(pairs.FIRST_PERSON)
    assert pairs.first_person(["then", "we", "left", "."], fp) and pairs.first_person(["my", "car"], fp)
    assert not pairs.first_person(["the", "usual", "route", "."], fp) and not pairs.first_person([], fp)


@pytest.mark.parametrize("share", [0.4, 1.0])
def test_person_matched_negatives_follow_the_continuations_person_in_their_share(share):
    docs, fp = first_person_corpus()
    ps = [p for seed in range(3) for p in pairs.make_pairs(docs, random.Random(seed), 40, sentence_pair_prob=0.3,
                                                               person_matched_prob=share, first_person_tokens=fp)]
    not_next = [p for p in ps if not p.is_next]
    matched = [p for p in not_next if p.person_matched]
    assert within_3_sigma(len(matched), len(not_next), share), len(matched) / len(not_next)
    assert within_3_sigma(sum(p.is_next for p in ps), len(ps))  # the label split is untouched
    assert not any(p.person_matched for p in ps if p.is_next)
    for p in ps:
        check_pair(docs, p, 40)  # NotNext B still from another document, contiguous, within the budget
    for p in matched:  # B's first sentence is in the person of the sentence that really follows A
        assert pairs.first_person(docs[p.b_doc][p.b_span[0]], fp) == pairs.first_person(docs[p.a_doc][p.a_span[1]], fp)
        if p.length == "sentence":
            assert p.b_span[1] - p.b_span[0] == 1
    assert 0 < sum(pairs.first_person(docs[p.b_doc][p.b_span[0]], fp) for p in matched) < len(matched)


def test_person_matched_negatives_remove_the_person_cue_that_random_ones_leave():
    """Given a first-person A, a random NotNext B is seldom first person while the real next sentence usually is,
    so 'both first person' predicts IsNext; with every NotNext B person-matched, B is first person about as often
    after a first-person A whatever the label (3 sigma)."""
    docs, fp = first_person_corpus()

    def shares(**kw):
        ps = [p for seed in range(4) for p in pairs.make_pairs(docs, random.Random(seed), 40, sentence_pair_prob=1.0,
                                                                   first_person_tokens=fp, **kw)]
        after_first = [p for p in ps if pairs.first_person(docs[p.a_doc][p.a_span[0]], fp)]
        return ([p for p in after_first if p.is_next], [p for p in after_first if not p.is_next])

    is_next, not_next = shares()
    assert b_first_person_share(docs, is_next, fp) - b_first_person_share(docs, not_next, fp) > 0.4  # the cue
    is_next, not_next = shares(person_matched_prob=1.0)
    p_next = b_first_person_share(docs, is_next, fp)
    k = round(b_first_person_share(docs, not_next, fp) * len(not_next))
    assert within_3_sigma(k, len(not_next), p_next), (k / len(not_next), p_next)


def test_person_matched_negatives_fall_back_to_ordinary_ones_when_no_other_document_matches():
    docs = corpus(200, min_sents=3)
    fp = frozenset(sent[0] for sent in docs[0])  # only document 0 is in the first person: nothing else matches it
    ps = pairs.make_pairs(docs, random.Random(0), 60, person_matched_prob=1.0, first_person_tokens=fp)
    from_0 = [p for p in ps if not p.is_next and p.a_doc == 0]
    assert from_0 and not any(p.person_matched for p in from_0)
    others = [p for p in ps if not p.is_next and p.a_doc != 0]
    assert len(others) > 50 and all(p.person_matched and p.b_doc != 0 for p in others)
    for p in ps:
        check_pair(docs, p, 60)


def test_person_matched_negatives_need_the_first_person_tokens():
    with pytest.raises(PlaygroundError, match="first_person_tokens"):
        pairs.make_pairs(corpus(5), random.Random(0), 50, person_matched_prob=0.5)
