"""The Tokenizer lab: step-by-step tokenization equals the checkpoints' own tokenizers; vocabularies train and are
measured; bad input is refused in one line."""
import json
import lzma

import pytest

from apphelp import ROOT, run
from bert_playground import PlaygroundError, cli
from bert_playground.inputs import explorer, subwords, vocab, wordpiece

HOSTILE = ["Café naïve façade", "東京は日本の首都です", "emoji 😀🎉 test", "zero\u200bwidth\u200djoin", "tab\tnew\nline\x0bvt\x0cff",
           "x" * 150, "supercalifragilisticexpialidocious" * 4, "3.14159 1,000,000 2024-01-01", "İstanbul ǅ ß ẞ",
           "\u2028line\u2029para", "नमस्ते दुनिया", "مرحبا بالعالم", "def f(x): return x**2  # code", "a\x00b\ufffdc",
           "\u0301accent first", "ＦＵＬＬ　ｗｉｄｔｈ", "  spaced   out  ", "[MASK] and [CLS] typed", "1" * 300]


@pytest.fixture(scope="module")
def sentences():
    """The labs' shipped corpus, as sentences: the first 10,000."""
    from bert_playground.inputs.corpus import read_wikiextractor

    docs = read_wikiextractor(str(ROOT / "assets" / "lab" / "wikipedia_lab.txt.xz"), min_sentences=1)
    out = [s for d in docs for s in d.sentences][:10_000]
    assert len(out) == 10_000
    return out


def _same(split, tokenizer, texts) -> list[str]:
    return [t for t in texts if split(tokenizer, t) != tokenizer.tokenize(t)]


def test_wordpiece_steps_equal_the_uncased_and_cased_tokenizers(sentences, family_bundles):
    from transformers import AutoTokenizer

    uncased = AutoTokenizer.from_pretrained(str(ROOT / "assets" / "model"))
    cased = family_bundles["bert-cased"].tokenizer
    assert wordpiece.rules_of(uncased).lowercase and not wordpiece.rules_of(cased).lowercase
    for tok in (uncased, cased):
        assert _same(lambda t, s: list(wordpiece.steps(t, s).tokens), tok, sentences + HOSTILE) == []


def test_bpe_and_unigram_steps_equal_their_tokenizers(sentences, family_bundles):
    for kind, split in (("roberta", subwords.bpe_steps), ("modernbert", subwords.bpe_steps),
                        ("albert", subwords.unigram_steps)):
        tok = family_bundles[kind].tokenizer
        assert _same(lambda t, s: [p for w in split(t, s) for p in w.pieces], tok, sentences[:3000] + HOSTILE) == [], kind


def test_a_word_step_by_step():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(ROOT / "assets" / "model"))
    w = wordpiece.steps(tok, "unaffable").words[0]
    assert w.pieces == tuple(tok.tokenize("unaffable")) and w.tried[0] == ("unaffable", False)
    assert all(hit for c, hit in w.tried if c in w.pieces) and w.tried[-1][1]
    long = wordpiece.steps(tok, "a" * 150).words[0]
    assert long.pieces == ("[UNK]",) and long.too_long and long.tried == ()
    with pytest.raises(PlaygroundError, match="empty"):
        wordpiece.steps(tok, "   ")
    with pytest.raises(PlaygroundError, match="at most"):
        wordpiece.steps(tok, "x " * 60_000)


def test_vocabularies_train_and_measure():
    train, held = vocab.lab_text()
    train = train[:120]  # a third of the corpus: enough for 8,000 entries, and quick
    small, large = (vocab.train(train, "wordpiece", n, True) for n in (2_000, 8_000))
    a, b = vocab.trained_stats(small, held), vocab.trained_stats(large, held)
    assert small.size == 2_000 and large.size == 8_000
    assert b.fertility < a.fertility and b.whole_word_share > a.whole_word_share  # a larger vocabulary splits less
    assert b.embedding_parameters == 8_000 * vocab.HIDDEN and b.words_in_512 == int(510 / b.fertility)
    for algorithm in ("bpe", "unigram"):
        assert vocab.train(train[:40], algorithm, 1_000, False).size <= 1_000


@pytest.mark.parametrize("size, message", [(0, "from 1,000"), (10_000_000, "from 1,000"), (True, "from 1,000")])
def test_bad_sizes_are_refused(size, message):
    with pytest.raises(PlaygroundError, match=message):
        vocab.untrained("wordpiece", size, True)


def test_a_corpus_too_small_or_not_utf8_is_refused(tmp_path):
    with pytest.raises(PlaygroundError, match="too small"):
        vocab.train(["a few words only"], "wordpiece", 1_000)
    bad = tmp_path / "bad.txt.xz"
    bad.write_bytes(lzma.compress(b'<doc id="1" title="x">\nx\n\xff\xfe bad bytes\n</doc>\n'))
    with pytest.raises(PlaygroundError, match="not UTF-8"):
        vocab.lab_text(bad)


def test_cli(tiny_dir, capsys, tmp_path):
    assert cli.main(["tokenize", "unaffable friend", "--steps", "--model", str(tiny_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [w["word"] for w in out["words"]] == ["unaffable", "friend"] and out["words"][0]["tried"][0] == ["unaffable", False]
    assert out["tokens"] == ["una", "##ffa", "##ble", "friend"] and len(out["ids"]) == 4
    assert cli.main(["vocab", "train", "--size", "1000", "--out", str(tmp_path / "v"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["size"] == 1000 and (tmp_path / "v" / "tokenizer.json").is_file() and res["seconds"] > 0
    for argv, message in ((["vocab", "train", "--size", "0"], "from 1,000"),
                          (["vocab", "train", "--out", "/proc/nope/x"], "cannot be written"),
                          (["tokenize", "x" * 100_000], "at most")):
        assert cli.main([*argv, "--model", str(tiny_dir), "--json"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "v" / "x").exists()


def test_explorer_and_languages(tiny):
    counts = explorer.composition(tiny)
    assert sum(counts.values()) == len(tiny.tokenizer) and counts["special"] == 5
    found = explorer.search(tiny, "bank")
    assert found and all("bank" in e.token for e in found)
    near = explorer.nearest(tiny, "bank", 5)
    assert len(near) == 5 and all(n != "bank" for n, _ in near)
    rows = explorer.languages(tiny)
    assert {r["language"] for r in rows} == set(explorer.LANGUAGES) and all(r["fertility"] > 0 for r in rows)


def test_the_page_shows_the_steps_of_the_checkpoints_tokenizer(app_env, tiny):
    at = run("pages/11_Tokenizer_lab.py", query={"text": "unaffable friend"})
    df = at.dataframe[0].value
    assert list(df["Word"]) == ["unaffable", "friend"] and list(df["Pieces"]) == ["una ##ffa ##ble", "friend"]
    at.radio(key="tk_tab").set_value("Vocabulary explorer").run()
    assert not at.exception and len(at.dataframe[0].value)
    at.radio(key="tk_tab").set_value("Other languages").run()
    assert not at.exception and len(at.dataframe[0].value) == len(explorer.LANGUAGES)
