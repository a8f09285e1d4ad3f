"""Classroom features: inputs kept across pages, links (query parameters) that reopen a view, hostile links, exports."""
import json

import pytest
from streamlit.testing.v1 import AppTest

from apphelp import ROOT, TIMEOUT, run
from playground_ui import state

# One changed input per page, and what its widget then shows: (page, URL parameters, {widget key: value}).
LINKS = [
    ("pages/1_Input_representation.py", {"a": "Cats purr loudly.", "b": "", "token": "2"},
     {"rep_a": "Cats purr loudly.", "rep_b": "", "rep_token": 2}),
    ("pages/2_Masked_LM.py", {"text": "Dogs bark at night.", "rate": "0.3", "seed": "7", "whole_word": "1",
                              "fill": "Paris is the [MASK] of France.", "k": "3"},
     {"mlm_text": "Dogs bark at night.", "mlm_rate": 0.3, "mlm_seed": 7, "mlm_whole_word": True,
      "fill_text": "Paris is the [MASK] of France.", "fill_k": 3}),
    ("pages/3_Next_sentence_prediction.py", {"source": "Type both sentences", "a": "It rained.", "b": "The road was wet."},
     {"nsp_source": "Type both sentences", "nsp_a": "It rained.", "nsp_b": "The road was wet."}),
    ("pages/3_Next_sentence_prediction.py", {"len": "64", "is_next": "0", "seed": "5"},
     {"nsp_len": 64, "nsp_is_next": False, "nsp_seed": 5}),
    ("pages/4_Attention.py", {"a": "The cat sat.", "b": "It purred.", "view": "Rollout", "roll_layer": "1"},
     {"att_a": "The cat sat.", "att_b": "It purred.", "att_view": "Rollout", "att_roll_layer": 1}),
    ("pages/4_Attention.py", {"a": "The cat sat.", "b": "", "layer": "2", "head": "3", "block": "all"},
     {"att_a": "The cat sat.", "att_layer": 2, "att_head": 3}),
    ("pages/5_Fine-tuning.py", {"mode": "frozen", "epochs": "2", "batch": "8", "seconds": "30", "early": "1"},
     {"ft_mode": "frozen", "ft_epochs": 2, "ft_batch": 8, "ft_max_seconds": 30, "ft_early": True}),
    ("pages/6_Contextual_embeddings.py",
     {"word": "bat", "sentences": "animal | The bat flew out of the cave.\nsport | He swung the bat hard.",
      "pooling": "first", "sim_layer": "1", "proj_layer": "0", "proj": "all", "colour": "sentence", "k": "5",
      "no_stop": "0", "corpus": "Paste a corpus", "corpus_text": "A bat hung in the barn."},
     {"ctx_word": "bat", "ctx_sentences": "animal | The bat flew out of the cave.\nsport | He swung the bat hard.",
      "ctx_example": "(your own word and sentences)", "ctx_pooling": "first", "ctx_sim_layer": 1, "ctx_proj_layer": 0,
      "ctx_proj_fit": "all", "ctx_proj_colour": "sentence", "ctx_nn_k": 5, "ctx_nn_stop": False,
      "ctx_corpus_src": "Paste a corpus", "ctx_corpus_text": "A bat hung in the barn."}),
    ("pages/6_Contextual_embeddings.py", {"example": "bat", "word": "bat", "sentences": None, "nn_layer": "1", "occ": "2"},
     {"ctx_example": "bat", "ctx_word": "bat", "ctx_nn_layer": 1, "ctx_nn_occ": 2}),
    ("pages/7_Explanations.py", {"kind": "nsp", "a": "It rained.", "b": "The road was wet.", "baseline": "pad",
                                 "steps": "8", "layer": "0", "head": "1", "k": "5"},
     {"xp_kind": "nsp", "xp_a": "It rained.", "xp_b": "The road was wet.", "xp_baseline": "pad", "xp_steps": 8,
      "xp_layer": 0, "xp_head": 1, "xp_k": 5}),
    ("pages/7_Explanations.py", {"text": "A [MASK] sat on the [MASK].", "mask": "1", "steps": "4", "head": "-1",
                                 "n_text": "Dogs bark at cats.", "n_layer": "1", "n_head": "3", "n_query": "2"},
     {"xp_kind": "mask", "xp_text": "A [MASK] sat on the [MASK].", "xp_mask": 1, "xp_head": -1, "xp_layer": 1,
      "xp_n_text": "Dogs bark at cats.", "xp_n_layer": 1, "xp_n_head": 3, "xp_n_query": 2}),
    ("pages/8_BERT_family.py", {"more": "embedded"}, {"family_more": "embedded"}),
]


def _open(page: str, query: dict | None = None) -> AppTest:
    return run(page, TIMEOUT, query=query)  # a None value: the page's own default (page 6: the example's sentences)


def _infos(at) -> str:
    return " | ".join(str(i.value) for i in at.info).replace("\\", "")  # notes are Markdown-escaped


@pytest.mark.parametrize("page,query,expect", LINKS, ids=[f"{p.split('/')[-1]}-{i}" for i, (p, _, _) in enumerate(LINKS)])
def test_link_opens_the_view_and_round_trips(app_env, page, query, expect):
    at = _open(page, query)
    for key, value in expect.items():
        assert at.session_state[key] == value, key
    # the address bar now holds the view: opening it again gives the same inputs
    written = {k: at.query_params[k] for k in at.query_params}
    written = {k: (v[-1] if isinstance(v, list) else v) for k, v in written.items()}
    again = _open(page, written)
    for key, value in expect.items():
        assert again.session_state[key] == value, key


def test_changed_widget_goes_into_the_url(app_env):
    at = _open("pages/2_Masked_LM.py")
    assert "text" not in at.query_params  # defaults are left out of the link
    at.text_area(key="mlm_text").input("A new sentence for the class.").run()
    at.slider(key="mlm_rate").set_value(0.5).run()
    assert not at.exception
    assert at.query_params["text"] in ("A new sentence for the class.", ["A new sentence for the class."])
    assert str(at.query_params["rate"]).strip("[]'") == "0.5"


def test_inputs_survive_leaving_the_page(app_env):
    """Widget state of a page that is not rendered is dropped by Streamlit; the kept copy brings it back."""
    at = _open("pages/2_Masked_LM.py")
    at.text_area(key="mlm_text").input("Kept across pages.").run()
    kept = at.session_state[state.KEPT]
    assert kept["mlm_text"] == "Kept across pages."
    # a new run of the page with the widget's own state gone, as after visiting another page
    fresh = AppTest.from_file(str(ROOT / "pages/2_Masked_LM.py"), default_timeout=TIMEOUT)
    fresh.session_state[state.KEPT] = dict(kept)
    fresh.run()
    assert fresh.text_area(key="mlm_text").value == "Kept across pages."


HOSTILE = [
    ({"rate": "abc"}, "'rate' was ignored (not a number)", ("mlm_rate", 0.15)),
    ({"rate": "7"}, "'rate' was ignored (outside 0…1)", ("mlm_rate", 0.15)),
    ({"seed": "1e400"}, "'seed' was ignored", ("mlm_seed", 0)),
    ({"k": "nan"}, "'k' was ignored", ("fill_k", 5)),
    ({"whole_word": "maybe"}, "'whole_word' was ignored (expected 1 or 0)", ("mlm_whole_word", False)),
    ({"bogus": "1", "text": "A cat."}, "parameter 'bogus' is not used on this page", ("mlm_text", "A cat.")),
    ({"text": "x" * 100_000}, "cut to its first 2,000 characters", ("mlm_text", "x" * state.MAX_TEXT)),
    ({"text": "<script>alert(1)</script> [MASK]"}, None, ("mlm_text", "<script>alert(1)</script> [MASK]")),
    ({"checkpoint": "/etc"}, "checkpoint was not opened", None),
    ({"checkpoint": "../../secret"}, "checkpoint was not opened", None),
]


# Pages 6, 7 and 8: (page, URL parameters, note, (widget key, value kept)).
HOSTILE_MORE = [
    ("pages/6_Contextual_embeddings.py", {"sim_layer": "999"}, "'sim_layer' was ignored (outside 0…128)", None),
    ("pages/6_Contextual_embeddings.py", {"pooling": "<script>alert(1)</script>"}, "'pooling' was ignored (not one of",
     ("ctx_pooling", "mean")),
    ("pages/6_Contextual_embeddings.py", {"occ": "-3", "k": "1e9"}, "'occ' was ignored", ("ctx_nn_k", 10)),
    ("pages/6_Contextual_embeddings.py", {"word": "bank" * 100}, "'word' was cut to its first 50 characters",
     ("ctx_word", ("bank" * 100)[:50])),
    ("pages/6_Contextual_embeddings.py", {"sentences": "The bank. " * 10_000}, "cut to its first 20,000 characters",
     ("ctx_sentences", ("The bank. " * 10_000)[:state.MAX_LONG_TEXT])),
    ("pages/7_Explanations.py", {"head": "-5", "baseline": "random"}, "'head' was ignored (outside -1…127)",
     ("xp_baseline", "mask")),
    ("pages/7_Explanations.py", {"steps": "100000"}, "'steps' was ignored", ("xp_steps", 32)),
    ("pages/7_Explanations.py", {"kind": "label", "clf_folder": "/etc"}, "parameter 'clf_folder' is not used",
     ("xp_clf_folder", "")),  # a classifier folder is never opened from a link
    ("pages/7_Explanations.py", {"layer": "50", "n_query": "400", "mask": "9"}, None, ("xp_layer", 1)),  # kept in range
    ("pages/8_BERT_family.py", {"more": "/etc/passwd\n../../secret\nembedded"}, "2 checkpoint(s) in the link were left out",
     ("family_more", "embedded")),
]


@pytest.mark.parametrize("page,query,note,expect", HOSTILE_MORE,
                         ids=[f"{p.split('/')[-1][:2]}{i}" for i, (p, *_) in enumerate(HOSTILE_MORE)])
def test_hostile_links_on_the_later_pages(app_env, page, query, note, expect):
    at = _open(page, query)
    if note:
        assert note in _infos(at)
    if expect:
        assert at.session_state[expect[0]] == expect[1]
    if page.endswith("Explanations.py"):  # pages 6 and 8 may say why a cut text is unusable: a message, not a crash
        assert not at.error, [e.value for e in at.error]
    assert not [h for h in at.get("html") if "<script>" in str(h.proto)]


def test_classroom_mode_family_page_keeps_only_allowed_checkpoints(app_env, monkeypatch, tiny_dir):
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", f"{tiny_dir},embedded")
    at = _open("pages/8_BERT_family.py", {"more": "embedded\nbert-base-uncased"})
    assert "1 checkpoint(s) in the link were left out: a link can name only the checkpoints this server allows" in _infos(at)
    assert at.session_state["family_more"] == "embedded"


def test_later_pages_route_charts_and_tables_through_the_exports(app_env):
    """Every chart on pages 6, 7, 8 has a standalone-HTML download and, when it holds points, its data as CSV (issue
    31); every table a CSV one."""
    import plotly.graph_objects as go

    from bert_playground.figures import data as figure_data

    seen = 0
    for page in ("pages/6_Contextual_embeddings.py", "pages/7_Explanations.py", "pages/8_BERT_family.py"):
        at = _open(page)
        labels = [b.proto.label for b in at.get("download_button")]
        charts = [go.Figure(json.loads(c.proto.spec)) for c in at.get("plotly_chart")]
        assert labels.count("Figure as HTML") == len(charts), page
        with_points = sum(figure_data.has_rows(f) for f in charts)
        assert labels.count("Data as CSV") == with_points, page
        assert labels.count("Table as CSV") == len(at.dataframe) > 0, page
        seen += with_points
    assert seen > 0


@pytest.mark.parametrize("query,note,expect", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_hostile_links_are_ignored_with_a_note(app_env, query, note, expect):
    at = _open("pages/2_Masked_LM.py", query)
    if note:
        assert note in _infos(at)
    if expect:
        assert at.session_state[expect[0]] == expect[1]
    assert at.session_state["checkpoint"] not in ("/etc", "../../secret")
    assert "bogus" not in at.query_params
    # the script-like text is only ever a widget's value: no element renders it as HTML
    assert not [h for h in at.get("html") if "<script>" in str(h.proto)]


def test_classroom_mode_refuses_a_checkpoint_it_does_not_allow(app_env, monkeypatch, tiny_dir):
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", str(tiny_dir))
    at = _open("pages/1_Input_representation.py", {"checkpoint": "bert-base-uncased"})
    assert "checkpoint was not opened: this server allows only" in _infos(at)
    assert at.session_state["checkpoint"] == str(tiny_dir)


def test_presentation_mode_is_kept_in_the_url(app_env):
    at = _open("pages/1_Input_representation.py", {"present": "1"})
    assert at.toggle(key="present").value is True
    assert [h for h in at.get("html") if "font-size" in str(h.proto)], "presentation CSS injected"
    assert str(at.query_params["present"]).strip("[]'") == "1"
    at.toggle(key="present").set_value(False).run()
    assert "present" not in at.query_params


@pytest.mark.parametrize("raw,ok", [("1", True), ("0", True), ("2", False), ("-1", False), ("1.5", False), ("", False)])
def test_int_param_parsing(raw, ok):
    p = state.Param("n", "n", 1, int, 0, 1)
    if ok:
        assert p.parse(raw)[0] == int(raw)
    else:
        with pytest.raises(ValueError):
            p.parse(raw)


def test_checkpoint_rule():
    assert state.checkpoint_allowed("embedded", None) is None
    assert state.checkpoint_allowed("bert-base-uncased", None) is None
    assert state.checkpoint_allowed("google/bert_uncased_L-2_H-128_A-2", None) is None
    assert state.checkpoint_allowed("/home/x", None)
    assert state.checkpoint_allowed("a/../b", None)
    assert state.checkpoint_allowed("bert-base-uncased", ["embedded"])


def test_many_masks_show_a_table_and_capped_charts(app_env):
    text = " ".join(f"word{i} [MASK]" for i in range(25))
    at = _open("pages/2_Masked_LM.py", {"fill": text, "k": "2"})
    table = next(d.value for d in at.dataframe if "Mask" in d.value.columns and "Rank" in d.value.columns)
    assert sorted(set(table["Mask"])) == list(range(1, 26)) and len(table) == 50
    bars = [c for c in at.get("plotly_chart") if "fill_bars" in str(c.proto.id)]
    assert 0 < len(bars) <= 12
    assert any("25 masks" in c.value for c in at.caption)
