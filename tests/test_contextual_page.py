"""AppTest tests of the Contextual-embeddings page on the tiny checkpoint."""
import time

import numpy as np
import pytest

from apphelp import plotly_specs, run

PAGE = "pages/6_Contextual_embeddings.py"


def _chart(at, title_part):
    found = [s for s in plotly_specs(at) if title_part in str(s.get("layout", {}).get("title", ""))]
    assert found, [str(s.get("layout", {}).get("title", ""))[:80] for s in plotly_specs(at)]
    return found[0]


def _errors(at):
    return [e.value for e in at.error]


def _wait(at, done, seconds=120):
    """Background jobs (corpus index, probe) run in a thread: rerun until `done(at)`."""
    for _ in range(int(seconds / 0.5)):
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(0.5)
    pytest.fail("the background job did not finish")


def test_default_example_draws_every_view(app_env):
    at = run(PAGE)
    assert not _errors(at)
    heat = _chart(at, "Cosine similarity")
    z = np.array(heat["data"][0]["z"])
    assert z.shape == (10, 10) and np.allclose(np.diag(z), 1, atol=1e-5)  # the shipped bank example: 10 sentences
    assert "hidden state 2" in heat["layout"]["title"]["text"]  # the last layer of the tiny model first
    senses = _chart(at, "Same sense vs different senses")
    assert [len(t["y"]) for t in senses["data"]] == [3, 3]
    proj = _chart(at, "2-D projection")
    assert {t["name"] for t in proj["data"]} == {"river", "money"}
    assert any("In the last layer" in m.value for m in at.markdown)


def test_layer_slider_changes_the_heatmap(app_env):
    at = run(PAGE)
    before = np.array(_chart(at, "Cosine similarity")["data"][0]["z"])
    at.slider(key="ctx_sim_layer").set_value(0).run()
    heat = _chart(at, "Cosine similarity")
    after = np.array(heat["data"][0]["z"])
    assert "hidden state 0 (embedding output)" in heat["layout"]["title"]["text"]
    assert not np.allclose(before, after)
    at.slider(key="ctx_proj_layer").set_value(1).run()
    assert "hidden state 1" in _chart(at, "2-D projection")["layout"]["title"]["text"]
    at.radio(key="ctx_proj_colour").set_value("sentence").run()
    assert len(_chart(at, "2-D projection")["data"]) == 10  # one colour per sentence
    at.radio(key="ctx_proj_fit").set_value("all").run()
    assert "one PCA fitted on all layers" in _chart(at, "2-D projection")["layout"]["title"]["text"]


def test_examples_and_pooling(app_env):
    at = run(PAGE)
    at.selectbox(key="ctx_example").set_value("bat").run()
    assert at.text_input(key="ctx_word").value == "bat"
    assert np.array(_chart(at, "Cosine similarity")["data"][0]["z"]).shape == (8, 8)
    at.text_input(key="ctx_word").set_value("unaffable")
    at.text_area(key="ctx_sentences").set_value("An unaffable man.\nShe was unaffable today.").run()
    at.radio(key="ctx_pooling").set_value("first").run()
    assert not _errors(at)
    assert any("first WordPiece piece" in c.value for c in at.caption)
    assert any("Label the sentences" in i.value for i in at.info)  # no senses given: no within/across chart


@pytest.mark.parametrize("word, sentences, message", [
    ("zebra", "The bank is open.\nA bank.", "does not occur as a whole word in any"),
    ("bank", "The bank is open.", "at least 2 sentences"),
    ("bank", "\n".join(["The bank is open."] * 500), "500 sentences is too many"),
    ("bank", "The bank. " * 1_100_000, "characters long; the limit"),  # an 11 MB paste
    ("", "The bank.\nA bank.", "empty"),
])
def test_bad_input_gets_a_clear_message(app_env, word, sentences, message):
    at = run(PAGE)
    at.text_input(key="ctx_word").set_value(word)
    at.text_area(key="ctx_sentences").set_value(sentences).run()
    assert not at.exception
    assert any(message in e for e in _errors(at)), _errors(at)
    assert at.text_input(key="ctx_word").value == word  # the input is kept


def test_nearest_uses_in_a_pasted_corpus(app_env):
    at = run(PAGE)
    at.radio(key="ctx_corpus_src").set_value("Paste a corpus").run()
    assert any("empty" in e for e in _errors(at))  # empty corpus: a clear message
    at.text_area(key="ctx_corpus_text").set_value("The bank. " * 1_100_000).run()
    assert any("million characters; the limit" in e for e in _errors(at))
    at.text_area(key="ctx_corpus_text").set_value(
        "She paid the money into the bank.\nWe walked along the river bank.\nThe bank approved the loan.").run()
    at.button(key="ctx_index").click().run()
    at = _wait(at, lambda a: any("built in" in c.value for c in a.caption))
    ranked = [m.value for m in at.markdown if m.value.startswith("1. `")]
    assert ranked and "**bank**" in ranked[0]
    assert 2 <= ranked[0].count("\n") + 1 <= 10  # at most k=10 rows
    at.checkbox(key="ctx_nn_stop").uncheck().run()
    ranked_all = [m.value for m in at.markdown if m.value.startswith("1. `")][0]
    assert ranked_all.count("\n") == 9  # with stop-words there are at least 10 rows


def test_probe_on_the_shipped_intents(app_env):
    at = run(PAGE)
    at.button(key="ctx_probe_run").click().run()
    at = _wait(at, lambda a: any("linear probe on frozen" in str(s.get("layout", {}).get("title", ""))
                                 for s in plotly_specs(a)), seconds=300)
    chart = _chart(at, "linear probe on frozen")
    assert [t["name"] for t in chart["data"]] == ["[CLS] vector", "mean of the pieces"]
    assert chart["data"][0]["x"] == [0, 1, 2]
    assert any("bag-of-words baseline" in a["text"] for a in chart["layout"]["annotations"])
    assert any(c.value.startswith("Best: layer") for c in at.caption)


def test_probe_upload_asks_for_a_file(app_env):
    at = run(PAGE)
    at.radio(key="ctx_probe_src").set_value("Upload CSV/TSV").run()
    assert any("Upload a labelled file" in i.value for i in at.info)


def test_index_store_shares_one_build_and_evicts_the_oldest(tiny):
    from bert_playground.interpret import neighbours as N
    from playground_ui.index_store import IndexStore

    store = IndexStore(max_entries=2)
    corpora = [N.parse_corpus(f"The bank number {i} opened.\nA river bank.") for i in range(3)]
    keys = [("tiny", "cpu", c.digest, 1, "mean") for c in corpora]
    job = store.start(keys[0], tiny, corpora[0], 1, "mean")
    assert store.start(keys[0], tiny, corpora[0], 1, "mean") is job or job.done  # a second session watches it
    assert job.wait(60) and job.error is None
    assert store.get(keys[0]).corpus == corpora[0] and job.events()[-1].done == 2
    for key, corpus in zip(keys[1:], corpora[1:]):
        assert store.start(key, tiny, corpus, 1, "mean").wait(60)
    assert store.get(keys[0]) is None and store.get(keys[2]) is not None  # least recently used out
