"""NSP scoring (bert_playground.objectives.nsp) on the tiny random checkpoint, the demo corpus, and the `nsp` CLI."""
import json
import random

import pytest
import torch
from test_cli import cli

from bert_playground import PlaygroundError, load
from bert_playground.inputs.corpus import Document, parse_pasted
from bert_playground.objectives import nsp, pairs

from apphelp import ROOT
from conftest import build_checkpoint

A = "I put the kettle on and took two cups from the shelf."
B = "A few minutes later the tea was ready."


@pytest.fixture(scope="module")
def demo_docs(tokenizer):
    return nsp.token_docs(tokenizer, nsp.demo_documents())


def reference_logits(folder, a, b):
    """The NSP head's (IsNext, NotNext) logits from a plain transformers forward pass, independent of the package."""
    from transformers import AutoTokenizer, BertForPreTraining

    tok = AutoTokenizer.from_pretrained(str(folder))
    model = BertForPreTraining.from_pretrained(str(folder), attn_implementation="eager").eval()
    with torch.no_grad():
        return model(**tok(a, b, return_tensors="pt")).seq_relationship_logits[0]  # (2,)


def reference_probability(folder, a, b):
    """P(IsNext) from a plain transformers forward pass, independent of the package."""
    return torch.softmax(reference_logits(folder, a, b), dim=-1)[0].item()


def test_score_text_matches_plain_transformers(tiny, tiny_dir):
    s = nsp.score_text(tiny, A, B)
    assert 0.0 <= s.is_next_probability <= 1.0
    assert s.is_next_probability == pytest.approx(reference_probability(tiny_dir, A, B), abs=1e-5)
    ref = reference_logits(tiny_dir, A, B)
    assert s.head_output == pytest.approx(tuple(ref.tolist()), abs=1e-5)  # the head's own output, shown as is
    assert s.prediction == ("IsNext", "NotNext")[int(ref.argmax())]  # BERT's convention: index 0 = IsNext
    assert s.model == tiny.info.name and not s.packed.identical and not s.packed.truncated


def test_packed_layout(tiny):
    p = nsp.score_text(tiny, "Hello there.", "unaffable friend").packed
    assert p.tokens == ["[CLS]", "hello", "there", ".", "[SEP]", "una", "##ffa", "##ble", "friend", "[SEP]"]
    assert p.segments == [0] * 5 + [1] * 5 and p.b_start == 5


def test_symmetric_inputs_both_scored(tiny, tiny_dir):
    ab, ba = nsp.score_text(tiny, A, B), nsp.score_text(tiny, B, A)
    for s, (x, y) in ((ab, (A, B)), (ba, (B, A))):
        assert 0.0 <= s.is_next_probability <= 1.0
        assert s.is_next_probability == pytest.approx(reference_probability(tiny_dir, x, y), abs=1e-5)
    n_a = len(tiny.tokenizer.tokenize(A))
    assert ab.packed.b_start == n_a + 2 and ba.packed.segments.count(0) == len(ab.packed) - n_a - 1
    assert sorted(ab.packed.tokens) == sorted(ba.packed.tokens)


def test_identical_pair_scored_and_flagged(tiny):
    s = nsp.score_text(tiny, A, "  " + A)
    assert s.packed.identical and 0.0 <= s.is_next_probability <= 1.0


def test_a_built_pair_scores_as_the_same_typed_pair(tiny):
    tok = tiny.tokenizer
    pair = pairs.Pair(tok.tokenize(A), tok.tokenize(B), True, 0, 0, (0, 1), (1, 2), 0)
    assert nsp.score_packed(tiny, nsp.pack_pair(tiny, pair)).is_next_probability == pytest.approx(
        nsp.score_text(tiny, A, B).is_next_probability, abs=1e-6)
    assert nsp.pack_pair(tiny, pair).input_ids == nsp.encode_pair(tiny, A, B).input_ids


def test_batch_matches_single_scores_and_confusion(tiny, demo_docs):
    drawn = nsp.draw_pairs(demo_docs, 40, seed=3, max_tokens=nsp.pair_budget(tiny))
    res = nsp.score_batch(tiny, drawn, batch_size=16)  # padded batches of different lengths
    assert len(res) == 40 and res.labels == [p.is_next for p in drawn]
    for i in (0, 7, 39):
        assert res.probabilities[i] == pytest.approx(nsp.score_packed(tiny, nsp.pack_pair(tiny, drawn[i])).is_next_probability, abs=1e-5)
    right = sum(pred == t for pred, t in zip(res.predictions, res.labels))
    assert res.accuracy == pytest.approx(right / 40)
    assert sum(map(sum, res.confusion)) == 40
    assert sum(res.confusion[0]) == sum(res.labels)  # row 0 = true IsNext
    assert res.confusion[0][0] == sum(p and t for p, t in zip(res.predictions, res.labels))


def test_draw_pairs_seeded_and_balanced(tiny, demo_docs):
    budget = nsp.pair_budget(tiny)
    assert nsp.draw_pairs(demo_docs, 20, 5, budget) == nsp.draw_pairs(demo_docs, 20, 5, budget)
    drawn = nsp.draw_pairs(demo_docs, 2000, 0, budget)
    k = sum(p.is_next for p in drawn)
    assert abs(k - 1000) <= 3 * (2000 * 0.25) ** 0.5


def test_nsp_only_checkpoint(tmp_path):
    b = load(str(build_checkpoint(tmp_path / "nsp-only", heads="nsp")), "cpu")
    assert 0.0 <= nsp.score_text(b, A, B).is_next_probability <= 1.0


def test_no_nsp_head_is_a_clear_error_but_packing_works(encoder_only_dir, demo_docs):
    b = load(str(encoder_only_dir), "cpu")
    with pytest.raises(PlaygroundError, match="no NSP head"):
        nsp.score_text(b, A, B)
    pair = nsp.draw_pairs(demo_docs, 1, 0, nsp.pair_budget(b))[0]
    with pytest.raises(PlaygroundError, match="no NSP head"):
        nsp.score_batch(b, [pair])
    assert nsp.pack_pair(b, pair).tokens[0] == "[CLS]"


@pytest.mark.parametrize("a, b, message", [
    ("", B, "Sentence A is empty"),
    (A, "   ", "Sentence B is empty"),
    (None, B, "two sentences"),
    (A, "\u200b", "Sentence B is empty"),  # zero-width only: nothing for the model to read
])
def test_bad_text(tiny, a, b, message):
    with pytest.raises(PlaygroundError, match=message):
        nsp.score_text(tiny, a, b)


def test_empty_side_of_pair_and_no_pairs(tiny):
    with pytest.raises(PlaygroundError, match="Sentence B of the pair is empty"):
        nsp.pack_pair(tiny, pairs.Pair(["hello"], [], False, 0, 1, (0, 1), (0, 0), 0))
    with pytest.raises(PlaygroundError, match="No pairs"):
        nsp.score_batch(tiny, [])


def test_long_text_truncated(tiny):
    s = nsp.score_text(tiny, "word " * 400, "other " * 400)
    assert s.packed.truncated and len(s.packed) == 512 and s.packed.full_length == 803
    n_a, n_b = s.packed.segments.count(0) - 2, s.packed.segments.count(1) - 1
    assert n_a + n_b == 509 and abs(n_a - n_b) <= 1  # the longer side first: both cut to about half


def test_token_docs_tokenizes_each_sentence_once(tokenizer):
    calls = []

    class Spy:
        def tokenize(self, s):
            calls.append(s)
            return tokenizer.tokenize(s)

    docs = [Document("d1", ["One sentence here.", "\u200b", "Another one."]), Document("d2", ["Third."])]
    out = nsp.token_docs(Spy(), docs)
    assert calls == ["One sentence here.", "\u200b", "Another one.", "Third."]
    assert out == [[["one", "sentence", "here", "."], ["another", "one", "."]], [["third", "."]]]


def test_demo_corpus_shape():
    docs = nsp.demo_documents()
    assert len(docs) >= 40
    assert all(4 <= len(d.sentences) <= 8 for d in docs)
    assert len({s for d in docs for s in d.sentences}) == sum(len(d.sentences) for d in docs)


def test_corpus_notices(tokenizer):
    def notices(docs):
        corpus = nsp.read_corpus(tokenizer, docs)
        assert all(n.level == "warning" for n in corpus.notices)
        assert corpus.token_docs == nsp.token_docs(tokenizer, docs)
        return list(corpus.notices)

    assert "empty" in notices([])[0]
    one = notices(parse_pasted("First sentence. Second sentence."))
    assert len(one) == 1 and "NotNext pairs are impossible" in one[0]
    singles = notices(parse_pasted("Only one.\n\nJust this."))
    assert any("IsNext pairs are impossible" in n for n in singles)
    mixed = notices(parse_pasted("One. Two.\n\nAlone."))
    assert mixed == ["1 document(s) have a single sentence (Document 2): they can give NotNext sentences but "
                     "never an IsNext pair."]
    assert notices(nsp.demo_documents()) == []


def test_pair_origin(demo_docs):
    docs = nsp.demo_documents()
    p = pairs.draw_pair(demo_docs, random.Random(0), 40, is_next=True)
    text = nsp.pair_origin(docs, p)
    assert text.startswith(f"A: {docs[p.a_doc].title}, sentence") and f"B: {docs[p.a_doc].title}" in text


EMBEDDED = ROOT / "assets" / "model"
WIKI = ROOT.parent / "shared" / "data" / "wikipedia" / "enwiki-part4.txt.xz"
needs_embedded = pytest.mark.skipif(not (EMBEDDED / "config.json").is_file(),
                                    reason="embedded checkpoint not built yet (assets/model)")


@pytest.fixture(scope="module")
def embedded():
    return load("embedded", "cpu")


@needs_embedded
def test_embedded_prefers_the_true_continuation(embedded):
    """On a real checkpoint, index 0 of the NSP logits is IsNext: the continuation scores higher."""
    cases = [("I mixed flour, milk and eggs in a bowl.", "Then I poured the batter into the hot pan.",
              "The home team scored after five minutes."),
             ("The cathedral was built in the twelfth century in the Gothic style.",
              "Its spire was added in 1420 and rebuilt after a fire.",
              "The species feeds mainly on small fish and crustaceans."),
             ("Paris is the capital of France.", "The river Seine flows through the city.",
              "Photosynthesis converts light into chemical energy.")]
    for a, follows, unrelated in cases:
        assert nsp.score_text(embedded, a, follows).is_next_probability > \
            nsp.score_text(embedded, a, unrelated).is_next_probability


@needs_embedded
@pytest.mark.skipif(not WIKI.is_file(), reason="shared Wikipedia sample absent (../shared/data/wikipedia)")
def test_embedded_nsp_accuracy_on_held_out_wikipedia(embedded):
    from bert_playground.inputs.corpus import read_wikiextractor

    docs = nsp.token_docs(embedded.tokenizer, read_wikiextractor(str(WIKI))[:80])
    res = nsp.score_batch(embedded, nsp.draw_pairs(docs, 100, 0, nsp.pair_budget(embedded, 128)))
    assert res.accuracy >= 0.85, res.confusion  # bench/bench_nsp.py measures it on 500 pairs


# ---- CLI ----------------------------------------------------------------------------------

def test_cli_nsp_json(tiny, tiny_dir):
    r = cli("nsp", A, B, "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"model", "is_next_probability", "tokens", "segments"}
    ref = nsp.score_text(tiny, A, B)
    assert out["model"] == str(tiny_dir) and out["tokens"] == ref.packed.tokens and out["segments"] == ref.packed.segments
    assert out["is_next_probability"] == pytest.approx(ref.is_next_probability, abs=1e-6)


def test_cli_nsp_text_output(tiny_dir):
    r = cli("nsp", A, B, env_model=tiny_dir)
    assert r.returncode == 0 and "P(IsNext)" in r.stdout and "[CLS]/0" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["nsp", "", B], "Sentence A is empty"),
    (["nsp", A, "  "], "Sentence B is empty"),
    (["nsp", A], "error:"),
    (["nsp", A, B, "--model", "/no/such/folder"], "does not exist"),
])
def test_cli_nsp_errors(tiny_dir, args, message):
    r = cli(*args, env_model=tiny_dir)
    assert r.returncode != 0 and message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_nsp_without_nsp_head(encoder_only_dir):
    r = cli("nsp", A, B, "--model", str(encoder_only_dir), "--json")
    assert r.returncode == 2 and "no NSP head" in r.stderr and r.stdout == ""
