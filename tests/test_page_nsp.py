"""AppTest tests for the next-sentence-prediction page."""
import pytest

from bert_playground.objectives import nsp

from apphelp import plotly_specs, run

PAGE = "pages/3_Next_sentence_prediction.py"


def texts(at):
    return [t.value for t in at.text]


def markdown(at):
    return " ".join(m.value for m in at.markdown)


def charts_of(at, kind):
    return [s for s in plotly_specs(at) if s["data"] and s["data"][0]["type"] == kind]


def gauge_value(at):
    return charts_of(at, "indicator")[0]["data"][0]["value"]


def packed_tokens(at):
    spec = next(s for s in plotly_specs(at) if s["layout"].get("annotations"))
    return [a["text"].removeprefix("<b>").removesuffix("</b>") for a in spec["layout"]["annotations"]]


def test_default_pair_from_demo_corpus(app_env):
    at = run(PAGE)
    assert "True label: **IsNext**" in markdown(at)
    a, b = texts(at)
    assert a.startswith("A: ") and b.startswith("B: ")
    origin = next(c.value for c in at.caption if c.value.startswith("A: Document"))
    a_doc, b_doc = (part.split(",")[0].split(": ")[1] for part in origin.split("·"))
    assert a_doc == b_doc  # IsNext: B from A's document
    assert 0.0 <= gauge_value(at) <= 1.0
    toks = packed_tokens(at)
    assert toks[0] == "[CLS]" and toks.count("[SEP]") == 2
    assert "Why RoBERTa dropped NSP" in [s.value for s in at.subheader]
    assert "topic alone" in markdown(at) and "Liu et al." in markdown(at)


def test_toggle_not_next_takes_b_from_another_document(app_env):
    at = run(PAGE)
    for seed in range(3):
        at.toggle(key="nsp_is_next").set_value(False).run()
        assert not at.exception and "True label: **NotNext**" in markdown(at)
        origin = next(c.value for c in at.caption if c.value.startswith("A: Document"))
        a_doc, b_doc = (part.split(",")[0].split(": ")[1] for part in origin.split("·"))
        assert a_doc != b_doc
        at.button(key="nsp_resample").click().run()
    at.toggle(key="nsp_is_next").set_value(True).run()
    assert "True label: **IsNext**" in markdown(at)


def test_resample_draws_a_new_pair(app_env):
    at = run(PAGE)
    seen = {tuple(texts(at))}
    for _ in range(3):
        at.button(key="nsp_resample").click().run()
        assert not at.exception
        seen.add(tuple(texts(at)))
    assert len(seen) >= 3


def test_typed_pair_scored(app_env, tiny):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Type both sentences").run()
    at.text_area(key="nsp_a").set_value("The dog barked <b>loudly</b>.").run()
    at.text_area(key="nsp_b").set_value("Then it fell asleep.").run()
    assert not at.exception and not at.error
    score = nsp.score_text(tiny, "The dog barked <b>loudly</b>.", "Then it fell asleep.")
    assert gauge_value(at) == pytest.approx(score.is_next_probability, abs=1e-6)
    assert any(c.value.startswith(f"P(IsNext) = {score.is_next_probability:.3f}, so the NSP head says") for c in at.caption)
    toks = packed_tokens(at)
    assert "&lt;" in toks and "<" not in "".join(t for t in toks if t not in ("[CLS]", "[SEP]"))
    assert len(toks) == len(score.packed)
    assert "<b>loudly" not in markdown(at)


def test_batch_view(app_env):
    at = run(PAGE)
    at.button(key="nsp_batch_go").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accuracy"].endswith("%")
    assert int(metrics["True IsNext pairs"]) + int(metrics["True NotNext pairs"]) == 100
    heat = charts_of(at, "heatmap")[0]["data"][0]["z"]
    assert sum(map(sum, heat)) == 100 and sum(heat[0]) == int(metrics["True IsNext pairs"])
    assert len(charts_of(at, "histogram")) == 1
    at.button(key="nsp_resample").click().run()  # other widgets keep the batch view
    assert charts_of(at, "heatmap")


@pytest.mark.parametrize("which", ["nsp_a", "nsp_b"])
def test_empty_sentence_message_keeps_input(app_env, which):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Type both sentences").run()
    at.text_area(key=which).set_value("   ").run()
    assert not at.exception
    assert any("empty" in e.value for e in at.error)
    assert at.text_area(key=which).value == "   "
    assert not charts_of(at, "indicator")


def test_identical_sentences_scored_with_note(app_env):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Type both sentences").run()
    at.text_area(key="nsp_a").set_value("Same words here.").run()
    at.text_area(key="nsp_b").set_value("Same words here.").run()
    assert any("identical" in i.value for i in at.info)
    assert 0.0 <= gauge_value(at) <= 1.0


def test_very_long_sentences_truncation_notice(app_env):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Type both sentences").run()
    at.text_area(key="nsp_a").set_value("word " * 700).run()
    assert not at.exception
    assert any("was cut" in w.value for w in at.warning)


def test_long_pasted_sentences_truncated_to_pair_length(app_env):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Your documents").run()
    at.select_slider(key="nsp_len").set_value(32).run()
    doc = ("A very long sentence " + "that goes on " * 30 + ". ") * 3
    at.text_area(key="nsp_corpus").set_value(doc + "\n\n" + doc.replace("goes", "runs")).run()
    assert not at.exception
    assert any("was cut" in w.value for w in at.warning)
    assert len(packed_tokens(at)) <= 32


def test_pasted_corpus_with_one_document(app_env):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Your documents").run()
    at.text_area(key="nsp_corpus").set_value("First we cooked. Then we ate. Then we washed up.").run()
    assert any("NotNext pairs are impossible" in w.value for w in at.warning)
    assert "True label: **IsNext**" in markdown(at)  # IsNext still works within one document
    at.toggle(key="nsp_is_next").set_value(False).run()
    assert not at.exception
    assert any("only one document" in e.value for e in at.error)
    at.button(key="nsp_batch_go").click().run()
    assert not at.exception and not charts_of(at, "heatmap")


def test_single_sentence_documents(app_env):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Your documents").run()
    at.text_area(key="nsp_corpus").set_value("Just one sentence.\n\nAnother lonely one.").run()
    assert any("IsNext pairs are impossible" in w.value for w in at.warning)
    assert any("two sentences" in e.value for e in at.error)
    assert at.text_area(key="nsp_corpus").value == "Just one sentence.\n\nAnother lonely one."
    at.toggle(key="nsp_is_next").set_value(False).run()
    assert not at.error and "True label: **NotNext**" in markdown(at)
    at.text_area(key="nsp_corpus").set_value("Two sentences here. Yes two.\n\nA lonely one.").run()
    assert any("1 document(s) have a single sentence" in w.value for w in at.warning)


def test_empty_pasted_corpus(app_env):
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Your documents").run()
    at.text_area(key="nsp_corpus").set_value("  \n\n ").run()
    assert not at.exception
    assert any("empty" in w.value for w in at.warning) and at.error


def test_encoder_only_checkpoint_keeps_pair_builder(app_env, encoder_only_dir, monkeypatch):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(encoder_only_dir))
    at = run(PAGE)
    assert any("no NSP head" in w.value for w in at.warning)
    assert "True label: **IsNext**" in markdown(at) and len(texts(at)) == 2
    assert packed_tokens(at)[0] == "[CLS]" and not charts_of(at, "indicator")
    at.toggle(key="nsp_is_next").set_value(False).run()
    at.button(key="nsp_resample").click().run()
    assert not at.exception and "True label: **NotNext**" in markdown(at)
    at.radio(key="nsp_source").set_value("Type both sentences").run()
    assert not at.exception and packed_tokens(at)[0] == "[CLS]"
    at.button(key="nsp_batch_go").click().run()
    assert not at.exception and any("needs an NSP head" in i.value for i in at.info)


def test_page_shows_the_package_sampled_pair(app_env, tiny):
    """The drawn pair is the package's (`nsp.sample_pair` for the seed), packed and scored as the package does."""
    import random

    from bert_playground.objectives import pairs

    at = run(PAGE)
    corpus = nsp.read_corpus(tiny.tokenizer, nsp.demo_documents())
    pair = nsp.sample_pair(corpus.token_docs, 0, nsp.pair_budget(tiny, 128), True)
    assert pair == pairs.draw_pair(corpus.token_docs, random.Random(0), nsp.pair_budget(tiny, 128), True)
    assert texts(at) == ["A: " + nsp.pair_text(tiny.tokenizer, pair.a), "B: " + nsp.pair_text(tiny.tokenizer, pair.b)]
    assert packed_tokens(at) == nsp.pack_pair(tiny, pair).tokens
    assert gauge_value(at) == pytest.approx(nsp.score_packed(tiny, nsp.pack_pair(tiny, pair)).is_next_probability, abs=1e-6)


def test_each_pair_is_packed_once(app_env, monkeypatch):
    """Typed sentences are encoded once for the figure and the score, not a second time to score."""
    import uuid

    calls = []
    real_encode = nsp.encode
    monkeypatch.setattr(nsp, "encode", lambda *a, **k: calls.append(a) or real_encode(*a, **k))
    at = run(PAGE)
    at.radio(key="nsp_source").set_value("Type both sentences").run()
    calls.clear()
    at.text_area(key="nsp_a").set_value(f"A sentence nobody typed before {uuid.uuid4().hex[:6]}.").run()
    assert not at.exception and charts_of(at, "indicator")
    assert len(calls) == 1, len(calls)
