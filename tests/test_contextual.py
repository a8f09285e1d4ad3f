"""Contextual embeddings, nearest uses and layer-wise probes on a tiny random checkpoint."""
import json
import threading

import numpy as np
import pytest
import torch
from test_cli import cli

from bert_playground import PlaygroundError, datasets
from bert_playground.inputs.text import encode
from bert_playground.interpret import contextual as C
from bert_playground.interpret import neighbours as N
from bert_playground.interpret import probe as P

BANK = ["river | I went to the river bank.", "river | The boat reached the muddy bank.",
        "money | I had been to the bank to withdraw some money.", "money | The bank raised its rates."]


def test_occurrences_of_a_word_split_into_pieces(tiny):
    target = C.word_pieces(tiny.tokenizer, "unaffable")
    assert tiny.tokenizer.convert_ids_to_tokens(target) == ["una", "##ffa", "##ble"]
    enc = encode(tiny, "An unaffable man, truly UNAFFABLE; not affable.")
    occ = C.find_occurrences(enc, target, sentence=3)
    assert [o.positions for o in occ] == [(2, 3, 4), (8, 9, 10)]
    assert all(o.pieces == ("una", "##ffa", "##ble") and o.sentence == 3 for o in occ)
    assert [enc.tokens[p] for p in occ[1].positions] == ["una", "##ffa", "##ble"]
    # a whole word only: 'bank' is not found inside 'banks' or 'banking'
    enc = encode(tiny, "Banks and banking, but one bank.")
    assert [o.positions for o in C.find_occurrences(enc, C.word_pieces(tiny.tokenizer, "bank"))] == [(7,)]


def test_result_fields_and_order(tiny):
    sentences, senses = C.parse_lines("\n".join(BANK) + "\n\n")
    assert senses == ["river", "river", "money", "money"] and sentences[0] == "I went to the river bank."
    res = C.analyse(tiny, "bank", sentences, senses)
    assert [o.sentence for o in res.occurrences] == [0, 1, 2, 3]
    assert res.vectors.shape == (tiny.info.layers + 1, 4, tiny.info.hidden_size)
    assert res.similarity.shape == (tiny.info.layers + 1, 4, 4)
    assert np.allclose(np.diagonal(res.similarity, axis1=1, axis2=2), 1, atol=1e-5)
    assert np.allclose(res.similarity, np.swapaxes(res.similarity, 1, 2), atol=1e-6)
    assert res.labels() == ["S1 river", "S2 river", "S3 money", "S4 money"]
    js = res.to_dict()
    assert set(js) == {"word", "occurrences", "layers", "projection"}
    assert js["occurrences"][0] == {"sentence": 0, "pieces": ["bank"], "positions": [6]}
    assert [row["layer"] for row in js["layers"]] == list(range(tiny.info.layers + 1))
    assert len(js["projection"][2]["points"]) == 4 and len(js["projection"][2]["points"][0]) == 2


def test_layer0_same_word_same_position_is_identical(tiny):
    # layer 0 = token + position + segment embeddings (LayerNorm): the same piece(s) at the same position(s)
    # give the same vector whatever the rest of the sentence; above layer 0 the context changes it
    for word, sentences in (("bank", ["bank is near.", "bank of england rates rose sharply."]),
                            ("unaffable", ["unaffable people everywhere.", "unaffable dogs bark."])):
        res = C.analyse(tiny, word, sentences)
        assert res.similarity[0, 0, 1] == pytest.approx(1.0, abs=1e-6)
        assert np.abs(res.vectors[0, 0] - res.vectors[0, 1]).max() < 1e-5
        assert np.abs(res.vectors[-1, 0] - res.vectors[-1, 1]).max() > 1e-3  # the context changed it
    res = C.analyse(tiny, "bank", ["bank is near.", "the bank is near."])  # another position: not identical
    assert np.abs(res.vectors[0, 0] - res.vectors[0, 1]).max() > 1e-3


@pytest.mark.parametrize("pooling", ["mean", "first"])
def test_vectors_equal_a_plain_transformers_forward_pass(tiny, tiny_dir, pooling):
    from transformers import AutoTokenizer, BertModel

    sentences = ["An unaffable man met an unaffable woman.", "Nobody is unaffable here, really.", "unaffable!"]
    res = C.analyse(tiny, "unaffable", sentences, pooling=pooling)
    ref_model = BertModel.from_pretrained(str(tiny_dir), use_safetensors=True).eval()
    ref_tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    for i, occ in enumerate(res.occurrences):
        with torch.no_grad():
            out = ref_model(**ref_tok(sentences[occ.sentence], return_tensors="pt"), output_hidden_states=True)
        for layer, h in enumerate(out.hidden_states):
            pieces = h[0, list(occ.positions)]
            expected = pieces[0] if pooling == "first" else pieces.mean(0)
            np.testing.assert_allclose(res.vectors[layer, i], expected.numpy(), atol=2e-5, rtol=1e-4)
    assert len(res.occurrences) == 4  # two in the first sentence


def test_sense_curves_are_the_mean_over_pairs(tiny):
    sentences, senses = C.parse_lines("\n".join(BANK))
    res = C.analyse(tiny, "bank", sentences, senses)
    within, across = res.sense_curves()
    for layer in range(res.layers):
        s = res.similarity[layer]
        assert within[layer] == pytest.approx((s[0, 1] + s[2, 3]) / 2, abs=1e-6)
        assert across[layer] == pytest.approx((s[0, 2] + s[0, 3] + s[1, 2] + s[1, 3]) / 4, abs=1e-6)
    assert C.separation_summary(res).startswith("In the last layer")
    assert C.analyse(tiny, "bank", sentences).sense_curves() is None  # no groups, no curves


def test_pca_matches_a_reference_up_to_sign(tiny):
    from sklearn.decomposition import PCA

    res = C.analyse(tiny, "bank", [s.split(" | ")[1] for s in BANK] + ["A bank is a bank."])
    for fit in ("layer", "all"):
        points, ratios = res.projection(fit)
        assert points.shape == (res.layers, 6, 2)
        for layer in (0, res.layers - 1):
            data = res.vectors.reshape(-1, res.vectors.shape[-1]) if fit == "all" else res.vectors[layer]
            ref = PCA(2).fit(data.astype(np.float64))
            expected = ref.transform(res.vectors[layer].astype(np.float64))
            np.testing.assert_allclose(np.abs(points[layer]), np.abs(expected), atol=1e-6)
            np.testing.assert_allclose(ratios[layer], ref.explained_variance_ratio_, atol=1e-6)


def test_bad_inputs_get_clear_messages(tiny):
    with pytest.raises(PlaygroundError, match="does not occur as a whole word in any"):
        C.analyse(tiny, "zebra", ["I went to the bank.", "The bank was closed."])
    with pytest.raises(PlaygroundError, match="at least 2 sentences"):
        C.analyse(tiny, "bank", ["I went to the bank."])
    with pytest.raises(PlaygroundError, match="500 sentences is too many"):
        C.analyse(tiny, "bank", ["The bank."] * 500)
    with pytest.raises(PlaygroundError, match="occurs only once"):
        C.analyse(tiny, "bank", ["I went to the bank.", "I went home."])
    with pytest.raises(PlaygroundError, match="more than one word"):
        C.analyse(tiny, "river bank", ["the river bank.", "a river bank."])
    with pytest.raises(PlaygroundError, match="empty"):
        C.analyse(tiny, "  ", ["the bank.", "a bank."])
    with pytest.raises(PlaygroundError, match="characters long; the limit"):
        C.parse_lines("bank " * 2_000_000)  # a 10 MB paste is refused before any tokenizing
    with pytest.raises(PlaygroundError, match="one sense label per sentence"):
        C.analyse(tiny, "bank", ["the bank.", "a bank."], ["river"])
    res = C.analyse(tiny, "bank", ["the bank.", "no such word.", "a bank."])
    assert "not in sentence(s) 2" in res.notices[0]
    assert res.notices[0].level == "warning"


# ---- nearest uses ------------------------------------------------------------------------------------

CORPUS = ("The bank raised interest rates again.\nWe sat on the bank of the river and watched the boats.\n"
          "She deposited her salary at the bank. Then she went home.\nThe river flooded its bank last spring.\n"
          "A bat flew out of the cave. He swung the bat hard.")


@pytest.fixture(scope="module")
def corpus_index(tiny):
    return N.build_index(tiny, N.parse_corpus(CORPUS), layer=1)


def test_corpus_parsing_and_hash():
    corpus = N.parse_corpus(CORPUS)
    assert len(corpus) == 7 and corpus.sentences[3] == "Then she went home."
    assert corpus.digest == N.parse_corpus(CORPUS + "\n\n").digest != N.parse_corpus(CORPUS + "\nMore.").digest
    shipped = N.shipped_corpus()
    assert 3000 <= len(shipped) <= 5000 and shipped.sentences[0].startswith("On Sunday morning")


def test_index_rows_and_float16(tiny, corpus_index):
    idx = corpus_index
    assert idx.vectors.dtype == torch.float16 and idx.layer == 1
    assert np.allclose(idx.vectors.float().norm(dim=1).numpy(), 1, atol=2e-3)
    encs = [encode(tiny, s) for s in idx.corpus.sentences]
    words = sum(len({w for w in e.word_ids if w is not None}) for e in encs)
    specials = sum(sum(w is None for w in e.word_ids) for e in encs)
    assert len(idx) == words + specials and int(idx.special.sum()) == specials
    assert {"the", ".", "of"} <= {t for t, s in zip(idx.text, idx.stop) if s}
    assert "bank" in idx.text and not idx.stop[idx.text.index("bank")]


def test_search_is_the_exact_top_k_of_brute_force(corpus_index):
    rng = np.random.default_rng(0)
    brute = corpus_index.vectors.double().numpy()
    for trial in range(5):
        q = rng.normal(size=brute.shape[1])
        for exclude in (True, False):
            found = N.search(corpus_index, q, 7, exclude_stop=exclude, exclude_special=exclude)
            sims = brute @ (q / np.linalg.norm(q))
            keep = ~(corpus_index.stop | corpus_index.special) if exclude else np.ones(len(sims), bool)
            order = [i for i in np.argsort(-sims, kind="stable") if keep[i]][:7]
            assert [round(n.similarity, 4) for n in found] == [round(float(sims[i]), 4) for i in order]
            assert [(n.sentence_index, n.token) for n in found] == \
                [(int(corpus_index.sentence[i]), corpus_index.text[i]) for i in order]


def test_query_vector_is_the_occurrence_vector_and_finds_itself(tiny, corpus_index):
    sentence = "We sat on the bank of the river and watched the boats."
    q = N.query_vector(tiny, "bank", sentence, layer=1)
    res = C.analyse(tiny, "bank", [sentence, "the bank."])
    np.testing.assert_allclose(q, res.vectors[1, 0], atol=1e-6)
    top = N.search(corpus_index, q, 3)[0]
    assert top.sentence == sentence and top.token == "bank" and top.similarity == pytest.approx(1, abs=2e-3)
    assert (top.before, top.match, top.after) == ("We sat on the ", "bank", " of the river and watched the boats.")
    assert top.to_dict() == {"sentence": sentence, "token": "bank", "similarity": round(top.similarity, 6)}


def test_index_progress_and_stop(tiny):
    corpus = N.parse_corpus(CORPUS)
    steps = list(N.index_steps(tiny, corpus, 0, batch_size=3))
    assert [s.done for s in steps[:-1]] == [3, 6, 7] and isinstance(steps[-1], N.CorpusIndex)
    stop = threading.Event()
    stop.set()
    with pytest.raises(PlaygroundError, match="stopped"):
        list(N.index_steps(tiny, corpus, 0, stop=stop))


def test_neighbour_bad_inputs(tiny, corpus_index):
    with pytest.raises(PlaygroundError, match="empty"):
        N.parse_corpus("  \n\n ")
    with pytest.raises(PlaygroundError, match="million characters; the limit"):
        N.parse_corpus("The bank. " * 1_000_000)  # a 10 MB paste
    with pytest.raises(PlaygroundError, match="empty"):
        N.build_index(tiny, N.Corpus("none", ()))
    with pytest.raises(PlaygroundError, match="Layer must be between 0"):
        N.query_vector(tiny, "bank", "the bank.", layer=tiny.info.layers + 1)
    with pytest.raises(PlaygroundError, match="does not occur"):
        N.query_vector(tiny, "bank", "the river.")
    with pytest.raises(PlaygroundError, match="between 1 and"):
        N.search(corpus_index, np.ones(tiny.info.hidden_size), 0)
    with pytest.raises(PlaygroundError, match="dimensions"):
        N.search(corpus_index, np.ones(3), 5)


# ---- probe -------------------------------------------------------------------------------------------

def test_features_are_cls_and_mean_of_hidden_states(tiny, tiny_dir):
    from transformers import AutoTokenizer, BertModel

    texts = ["Where is my parcel?", "I lost my card yesterday evening."]
    f = P.features(tiny, texts)
    ref = BertModel.from_pretrained(str(tiny_dir), use_safetensors=True).eval()
    tok = AutoTokenizer.from_pretrained(str(tiny_dir))
    for i, t in enumerate(texts):
        with torch.no_grad():
            hs = ref(**tok(t, return_tensors="pt"), output_hidden_states=True).hidden_states
        for layer, h in enumerate(hs):
            np.testing.assert_allclose(f.cls[layer, i], h[0, 0].numpy(), atol=2e-5)
            np.testing.assert_allclose(f.mean[layer, i], h[0, 1:-1].mean(0).numpy(), atol=2e-5)


def test_probe_accuracy_equals_a_reference_fit(tiny):
    from sklearn.linear_model import LogisticRegression

    train, test = datasets.shipped()
    ftr, fte = P.features(tiny, train.texts), P.features(tiny, test.texts)
    ytr, yte = np.array(train.labels), np.array(test.labels)
    for x_train, x_test in ((ftr.cls[1], fte.cls[1]), (ftr.mean[2], fte.mean[2])):
        ours = P.probe_accuracy(x_train, ytr, x_test, yte, len(train.label_names))
        a, b = P.standardize(x_train.astype(np.float64), x_test.astype(np.float64))
        ref = LogisticRegression(C=1 / (P.L2 * len(a)), tol=1e-10, max_iter=10_000).fit(a, ytr)
        assert ours == pytest.approx(ref.score(b, yte), abs=1e-9)
        assert ours > 1 / len(train.label_names)  # it learns something even on a random model


def test_probe_run_fields_and_baseline(tiny):
    train, test = datasets.shipped()
    steps = list(P.steps(tiny, train.subset(list(range(0, 320, 4))), test))
    res = steps[-1]
    assert isinstance(res, P.ProbeResult) and steps[-2].done == steps[-2].total
    js = res.to_dict()
    assert set(js) == {"layers", "baseline"} and [r["layer"] for r in js["layers"]] == [0, 1, 2]
    assert set(js["layers"][0]) == {"layer", "cls", "mean"}
    b_train, b_test = P.bow_matrix(train.texts[::4], test.texts)
    assert res.baseline == pytest.approx(P.probe_accuracy(b_train, np.array(train.labels[::4]), b_test,
                                                          np.array(test.labels), 5))
    assert res.baseline > 0.5 and res.majority == pytest.approx(0.2)


def test_best_layer_is_the_highest_accuracy_of_either_pooling():
    scores = (P.LayerScore(0, 0.30, 0.41), P.LayerScore(1, 0.62, 0.55), P.LayerScore(2, 0.50, 0.62),
              P.LayerScore(3, 0.40, 0.45))
    res = P.ProbeResult("m", "d", scores, 0.5, 10, 10, 2, 0.5)
    assert res.best_layer.layer == 1 and res.best_layer.best == 0.62  # a tie: the lower layer
    res = P.ProbeResult("m", "d", scores[:1] + (P.LayerScore(1, 0.2, 0.9),), 0.5, 10, 10, 2, 0.5)
    assert res.best_layer.layer == 1 and res.best_layer.best == 0.9  # mean pooling counts too


def test_probe_bad_input(tiny):
    train, test = datasets.shipped()
    one_class = [i for i, y in enumerate(train.labels) if y == 0]
    with pytest.raises(PlaygroundError, match="only one class"):
        P.run(tiny, train.subset(one_class), test)


# ---- CLI ---------------------------------------------------------------------------------------------

def test_cli_context_json(tiny_dir):
    r = cli("context", "bank", "I went to the river bank.", "I had been to the bank to withdraw some money.",
            "The bank is closed.", "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"word", "occurrences", "layers", "projection"} and out["word"] == "bank"
    assert [o["sentence"] for o in out["occurrences"]] == [0, 1, 2]
    assert out["occurrences"][1] == {"sentence": 1, "pieces": ["bank"], "positions": [6]}
    assert len(out["layers"]) == 3 and out["layers"][0]["layer"] == 0
    assert np.array(out["layers"][2]["similarity"]).shape == (3, 3)
    assert out["layers"][0]["similarity"][0][1] == pytest.approx(1.0, abs=1e-6)  # both at position 6
    assert [p["layer"] for p in out["projection"]] == [0, 1, 2] and np.array(out["projection"][1]["points"]).shape == (3, 2)


def test_cli_neighbours_and_probe_json(tiny_dir, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    r = cli("neighbours", "bank", "The bank raised interest rates again.", "--corpus", str(corpus), "--layer", "1",
            "--k", "3", "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["layer"] == 1 and len(out["neighbours"]) == 3
    assert set(out["neighbours"][0]) == {"sentence", "token", "similarity"}
    assert out["neighbours"][0]["token"] == "bank" and out["neighbours"][0]["similarity"] == pytest.approx(1, abs=2e-3)
    sims = [n["similarity"] for n in out["neighbours"]]
    assert sims == sorted(sims, reverse=True)
    data = tmp_path / "data.csv"
    rows = [("where is my parcel", "delivery"), ("my card was stolen", "card"), ("parcel never came", "delivery"),
            ("block my card", "card")] * 5
    data.write_text("text,label\n" + "".join(f"{t} {i},{y}\n" for i, (t, y) in enumerate(rows)))
    r = cli("probe", "--data", str(data), "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"layers", "baseline"} and len(out["layers"]) == 3
    assert all(0 <= row["cls"] <= 1 and 0 <= row["mean"] <= 1 for row in out["layers"])


@pytest.mark.parametrize("args, message", [
    (["context", "zebra", "The bank.", "A bank."], "does not occur"),
    (["context", "bank", "The bank."], "at least 2 sentences"),
    (["context", "bank"], "error:"),
    (["neighbours", "bank", "The bank.", "--corpus", "/no/such/file.txt"], "does not exist"),
    (["neighbours", "bank", "The bank.", "--layer", "9"], "Layer must be between"),
    (["neighbours", "bank", "The bank.", "--k", "0"], "between 1 and"),
    (["probe", "--data", "/no/such.csv"], "does not exist"),
])
def test_cli_bad_input_exits_2_with_one_line(tiny_dir, args, message):
    r = cli(*args, "--model", str(tiny_dir))
    assert r.returncode == 2, r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_empty_corpus_file(tiny_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    r = cli("neighbours", "bank", "The bank.", "--corpus", str(empty), "--model", str(tiny_dir))
    assert r.returncode == 2 and "is empty" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_text_output_and_shipped_corpus(tiny_dir):
    r = cli("context", "bank", "river | I went to the river bank.", "money | The bank raised its rates.",
            "river | The muddy bank.", "--model", str(tiny_dir))
    assert r.returncode == 0, r.stderr
    assert "3 occurrences" in r.stdout and "layer 0:" in r.stdout and "same sense" in r.stdout
    r = cli("neighbours", "bank", "I had been to the bank to withdraw some money.", "--k", "5",
            "--model", str(tiny_dir), "--json")  # default corpus: the shipped one
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    shipped = set(N.shipped_corpus().sentences)
    assert out["layer"] == 2 and len(out["neighbours"]) == 5 and all(n["sentence"] in shipped for n in out["neighbours"])
