"""AppTest tests of the Masked-LM page: the masking playground and fill in the blanks."""
import pytest

from bert_playground.objectives.masking import MaskingConfig, mask_text
from bert_playground.objectives.mlm import fill, score_corruption

from apphelp import FILL, MLM_TAB, MLM_TABS, RTD, SHEET, open_tab, plotly_specs, run

PAGE = "pages/2_Masked_LM.py"
TEXT = "The playground masks unaffable sentences about unbelievably bored foxes."


def _table(at):
    return next(d.value for d in at.dataframe if "Corrupted input" in d.value.columns)


def _preds(at):
    return next((d.value for d in at.dataframe if "Model's guess" in d.value.columns), None)


def _chart(at, title):
    return next(s for s in plotly_specs(at) if title in (s["layout"].get("title") or {}).get("text", ""))


def _expected(tokenizer, text, rate=0.15, seed=0, whole_word=False):
    return mask_text(tokenizer, text, MaskingConfig(rate=rate, whole_word=whole_word), seed)


def _check_table(at, m):
    df = _table(at)
    assert list(df["Original"]) == m.tokens
    assert list(df["Corrupted input"]) == m.input_tokens
    assert list(df["Action"]) == [a or "not chosen" for a in m.actions]


def test_default_page_draws_everything(app_env, tiny):
    at = run(PAGE)
    assert [t.label for t in at.tabs] == ["Masking playground", "Fill in the blanks",
                                          "Replaced-token detection (ELECTRA)", "Experiment sheet"] == list(MLM_TABS)
    text = at.text_area(key="mlm_text").value
    m = _expected(tiny.tokenizer, text)
    _check_table(at, m)
    score = score_corruption(tiny, m)
    preds = _preds(at)
    assert list(preds["Position"]) == [r.position for r in score.rows]
    assert list(preds["Loss"]) == pytest.approx([r.loss for r in score.rows], abs=1e-5)
    assert any(f"{score.loss:.3f}" == mt.value for mt in at.metric)
    static, dynamic = _chart(at, "Static masking"), _chart(at, "Dynamic masking")
    assert len(static["data"][0]["z"]) == 4
    assert all(row == static["data"][0]["z"][0] for row in static["data"][0]["z"])  # same draw every epoch
    assert len({tuple(r) for r in dynamic["data"][0]["z"]}) > 1
    stats = next(d.value for d in at.dataframe if "quantity" in d.value.columns)
    assert len(stats) == 4 and stats["inside"].all() and list(stats["expected"]) == pytest.approx([0.15, 0.8, 0.1, 0.1])
    assert _chart(at, "Observed shares vs expected") and _chart(at, "Chosen tokens per draw")
    assert not at.error
    # fill in the blanks, default text (each tab runs only when open: visit them in turn)
    open_tab(at, MLM_TAB, FILL[MLM_TAB])
    bars = _chart(at, "Mask 1")
    res = fill(tiny, at.text_area(key="fill_text").value, 5)
    assert bars["data"][0]["x"] == pytest.approx([p.probability for p in res.masks[0].predictions], abs=1e-6)
    assert at.code[0].value == res.filled
    assert not at.error
    for tab in (RTD, SHEET):
        open_tab(at, MLM_TAB, tab[MLM_TAB])
        assert not at.error, (tab, [e.value for e in at.error])


def test_slider_seed_toggle_and_resample(app_env, tiny):
    at = run(PAGE)
    at.text_area(key="mlm_text").set_value(TEXT).run()
    at.slider(key="mlm_rate").set_value(0.4).run()
    _check_table(at, _expected(tiny.tokenizer, TEXT, 0.4))
    at.number_input(key="mlm_seed").set_value(7).run()
    _check_table(at, _expected(tiny.tokenizer, TEXT, 0.4, 7))
    at.button(key="mlm_resample").click().run()
    assert at.number_input(key="mlm_seed").value == 8
    _check_table(at, _expected(tiny.tokenizer, TEXT, 0.4, 8))
    at.toggle(key="mlm_whole_word").set_value(True).run()
    m = _expected(tiny.tokenizer, TEXT, 0.4, 8, whole_word=True)
    _check_table(at, m)
    for i, t in enumerate(m.tokens):  # no word is split
        if t.startswith("##"):
            assert (m.actions[i] is None) == (m.actions[i - 1] is None)
    assert not at.exception and not at.error


def test_rate_zero_and_one(app_env):
    at = run(PAGE)
    at.slider(key="mlm_rate").set_value(0.0).run()
    assert set(_table(at)["Action"]) == {"not chosen"}
    assert any("no token is chosen" in i.value for i in at.info) and _preds(at) is None
    at.slider(key="mlm_rate").set_value(1.0).run()
    actions = list(_table(at)["Action"])
    assert actions[0] == actions[-1] == "not chosen" and "not chosen" not in actions[1:-1]
    assert any("every token is chosen" in w.value for w in at.warning)
    assert len(_preds(at)) == len(actions) - 2
    assert not at.exception and not at.error


def test_empty_and_long_masking_text(app_env):
    at = run(PAGE)
    at.text_area(key="mlm_text").set_value("   ").run()
    assert any("empty" in e.value for e in at.error) and at.text_area(key="mlm_text").value == "   "
    at.text_area(key="mlm_text").set_value("word " * 700).run()
    assert len(_table(at)) == 702  # masking has no length limit
    assert any("first 512 tokens" in w.value for w in at.warning)
    assert not at.exception


def test_fill_box_top_k_and_several_masks(app_env, tiny):
    at = run(PAGE, tabs=FILL)
    text = "The [MASK] of France is [MASK] and it is big."
    at.text_area(key="fill_text").set_value(text).run()
    at.slider(key="fill_k").set_value(3).run()
    res = fill(tiny, text, 3)
    for n, m in enumerate(res.masks):
        spec = _chart(at, f"Mask {n + 1} (position {m.position})")
        assert spec["data"][0]["x"] == pytest.approx([p.probability for p in m.predictions], abs=1e-6)
        assert spec["data"][0]["x"] == sorted(spec["data"][0]["x"], reverse=True) and len(spec["data"][0]["x"]) == 3
    assert at.code[0].value == res.filled
    assert not at.error and not at.exception


def test_insert_mask_button(app_env):
    at = run(PAGE, tabs=FILL)
    at.text_area(key="fill_text").set_value("The capital of France is Paris.").run()
    at.selectbox(key="fill_word").set_value(5).run()
    at.button(key="fill_insert").click().run()
    assert at.text_area(key="fill_text").value == "The capital of France is [MASK]."
    assert _chart(at, "Mask 1")
    at.selectbox(key="fill_word").set_value(1).run()
    at.button(key="fill_insert").click().run()
    assert at.text_area(key="fill_text").value == "The [MASK] of France is [MASK]."
    assert _chart(at, "Mask 2") and not at.exception


@pytest.mark.parametrize("text, kind, message", [
    ("No mask in this one.", "error", "no [MASK]"),
    ("   ", "error", "empty"),
    ("[MASK] [MASK] [MASK]", "warning", "only masks"),
    ("a [MASK] [MASK] [MASK]", "warning", "More masks"),
    ("The capital of France is [mask].", "info", "Read '[mask]'"),
    ("It is <mask> and [ MASK ].", "info", "'<mask>', '[ MASK ]'"),
])
def test_fill_bad_inputs(app_env, text, kind, message):
    at = run(PAGE, tabs=FILL)
    at.text_area(key="fill_text").set_value(text).run()
    assert not at.exception
    shown = [e.value.replace("\\", "") for e in getattr(at, kind)]  # errors escape Markdown characters
    assert any(message in m for m in shown), shown
    assert at.text_area(key="fill_text").value == text


def test_fill_long_text_is_cut_with_notice(app_env):
    at = run(PAGE, tabs=FILL)
    at.text_area(key="fill_text").set_value("The [MASK] " + "word " * 600 + "[MASK]").run()
    assert any("reads the first 512" in w.value and "not predicted" in w.value for w in at.warning)
    assert _chart(at, "Mask 1") and not at.exception


def test_user_text_is_never_markup(app_env):
    import json

    def no_markup(at):
        assert not at.exception
        assert "<b>" not in "".join(m.value for m in at.markdown)
        specs = json.dumps(plotly_specs(at))
        assert "<b>" not in specs and "<img" not in specs

    at = run(PAGE)
    at.text_area(key="mlm_text").set_value("<b>bold</b> <img src=x>").run()
    no_markup(at)
    open_tab(at, MLM_TAB, FILL[MLM_TAB]).text_area(key="fill_text").set_value("<b>bold</b> [MASK]").run()
    no_markup(at)
    for tab in (RTD, SHEET, {MLM_TAB: "Masking playground"}):  # every tab, with both texts typed
        no_markup(open_tab(at, MLM_TAB, tab[MLM_TAB]))


def test_encoder_only_checkpoint_keeps_the_playground(app_env, encoder_only_dir, monkeypatch, tokenizer):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(encoder_only_dir))
    at = run(PAGE)
    assert any("no masked-LM head" in w.value for w in at.warning)
    at.text_area(key="mlm_text").set_value(TEXT).run()
    at.slider(key="mlm_rate").set_value(0.5).run()
    _check_table(at, _expected(tokenizer, TEXT, 0.5))
    assert _preds(at) is None and _chart(at, "Static masking") and _chart(at, "Observed shares vs expected")
    assert not at.exception and not at.error
    open_tab(at, MLM_TAB, FILL[MLM_TAB])
    assert any("no masked-LM head" in w.value for w in at.warning)
    assert any("cannot fill in blanks" in i.value for i in at.info)
    assert not at.exception and not at.error


# ---- lazy tabs: only the open tab runs ------------------------------------------------------------------

PLAY = "Masking playground"
FILL_ONLY = ("fill_text", "mlm_x_joint_text", "rtd_text", "sheet_models")  # text areas of the other three tabs


def _keys(at, kind="text_area") -> set:
    return {w.key for w in getattr(at, kind)}


def test_only_the_open_tab_runs(app_env):
    at = run(PAGE)
    assert at.session_state[MLM_TAB] == PLAY
    assert {"mlm_text"} <= _keys(at) and not _keys(at) & set(FILL_ONLY), _keys(at)
    assert "mlm_rate" in _keys(at, "slider") and "fill_k" not in _keys(at, "slider")
    assert _table(at) is not None and not _keys(at, "text_input") & {"mlm_x_cands", "mlm_x_ww_text", "mlm_compare_with"}
    open_tab(at, MLM_TAB, FILL[MLM_TAB])
    assert {"fill_text", "mlm_x_joint_text"} <= _keys(at) and "mlm_text" not in _keys(at)
    assert "fill_k" in _keys(at, "slider") and "mlm_rate" not in _keys(at, "slider")
    assert not any("Corrupted input" in d.value.columns for d in at.dataframe)  # no masking table
    assert _chart(at, "Mask 1") and not any("Static masking" in (s["layout"].get("title") or {}).get("text", "")
                                            for s in plotly_specs(at))
    open_tab(at, MLM_TAB, RTD[MLM_TAB])  # a BERT checkpoint: the tab says why it does not apply
    assert any("needs an ELECTRA discriminator" in i.value for i in at.info)
    assert not _keys(at) & {"mlm_text", "fill_text", "sheet_models"} and not at.dataframe
    open_tab(at, MLM_TAB, SHEET[MLM_TAB])
    assert "sheet_models" in _keys(at) and not _keys(at) & {"mlm_text", "fill_text", "rtd_text"}
    assert str(at.query_params["tab"]).strip("[]'") == SHEET[MLM_TAB]  # the address bar is a link to this tab
    assert not at.error


def test_typed_inputs_survive_switching_tabs(app_env, tiny):
    """Streamlit drops the state of widgets that are not drawn: each input of a closed tab keeps its value
    (persist_state="page"; the state spec keeps those of links), whatever the tabs visited in between."""
    text = "The [MASK] of France is [MASK] and it is big."
    at = run(PAGE, tabs=FILL)
    at.text_area(key="fill_text").set_value(text).run()
    at.slider(key="fill_k").set_value(3).run()
    at.text_area(key="mlm_x_joint_text").set_value("A [MASK] and a [MASK].").run()
    at.text_input(key="mlm_x_cands").set_value("Paris, Rome").run()
    open_tab(at, MLM_TAB, PLAY)
    assert "fill_text" not in _keys(at)
    at.text_area(key="mlm_text").set_value(TEXT).run()
    at.slider(key="mlm_rate").set_value(0.4).run()
    at.number_input(key="mlm_seed").set_value(7).run()
    at.toggle(key="mlm_whole_word").set_value(True).run()
    open_tab(at, MLM_TAB, SHEET[MLM_TAB])
    at.text_area(key="sheet_models").set_value("embedded").run()
    open_tab(at, MLM_TAB, RTD[MLM_TAB])
    open_tab(at, MLM_TAB, FILL[MLM_TAB])
    assert at.text_area(key="fill_text").value == text and at.slider(key="fill_k").value == 3
    assert at.text_area(key="mlm_x_joint_text").value == "A [MASK] and a [MASK]."
    assert at.text_input(key="mlm_x_cands").value == "Paris, Rome"
    res = fill(tiny, text, 3)
    assert _chart(at, "Mask 2")["data"][0]["x"] == pytest.approx([p.probability for p in res.masks[1].predictions], abs=1e-6)
    assert at.code[0].value == res.filled
    open_tab(at, MLM_TAB, SHEET[MLM_TAB])
    assert at.text_area(key="sheet_models").value == "embedded"
    open_tab(at, MLM_TAB, PLAY)
    assert at.text_area(key="mlm_text").value == TEXT and at.number_input(key="mlm_seed").value == 7
    assert at.slider(key="mlm_rate").value == 0.4 and at.toggle(key="mlm_whole_word").value is True
    _check_table(at, _expected(tiny.tokenizer, TEXT, 0.4, 7, whole_word=True))
    assert str(at.query_params["fill"]).strip("[]'") == text and not at.error


def _link(query: dict):
    return run(PAGE, query=query)


@pytest.mark.parametrize("label", [FILL[MLM_TAB], RTD[MLM_TAB], SHEET[MLM_TAB]])
def test_a_link_opens_its_tab(app_env, label):
    at = _link({"tab": label})
    assert at.session_state[MLM_TAB] == label and "mlm_text" not in _keys(at)
    if label == RTD[MLM_TAB]:
        assert any("needs an ELECTRA discriminator" in i.value for i in at.info)
    else:
        assert ({FILL[MLM_TAB]: "fill_text", SHEET[MLM_TAB]: "sheet_models"}[label]) in _keys(at)
    assert str(at.query_params["tab"]).strip("[]'") == label and not at.error


def test_a_link_with_a_fill_text_opens_the_fill_tab(app_env, tiny):
    """A link (or a teacher's lesson) that names the fill text but no tab shows that text: the fill tab opens."""
    text = "Paris is the [MASK] of France."
    at = _link({"fill": text, "k": "2"})
    assert at.session_state[MLM_TAB] == FILL[MLM_TAB] and at.text_area(key="fill_text").value == text
    assert _chart(at, "Mask 1")["data"][0]["x"] == pytest.approx([p.probability for p in fill(tiny, text, 2).masks[0].predictions], abs=1e-6)
    # a link that names a tab opens that one
    again = _link({"fill": text, "tab": PLAY})
    assert again.session_state[MLM_TAB] == PLAY and "fill_text" not in _keys(again)


def test_the_link_of_the_masking_tab_with_a_changed_fill_text_reopens_the_masking_tab(app_env):
    at = run(PAGE, tabs=FILL)
    at.text_area(key="fill_text").set_value("Rome is the [MASK] of Italy.").run()
    open_tab(at, MLM_TAB, PLAY)
    written = {k: at.query_params[k] for k in at.query_params}
    written = {k: (v[-1] if isinstance(v, list) else v) for k, v in written.items()}
    assert written["fill"] == "Rome is the [MASK] of Italy." and written["tab"] == PLAY
    again = _link(written)
    assert again.session_state[MLM_TAB] == PLAY and again.session_state["fill_text"] == "Rome is the [MASK] of Italy."
    assert "mlm_text" in _keys(again)
    for_link = _link({"text": "Dogs bark."})  # a link to the masking tab that names no fill text stays there
    assert for_link.session_state[MLM_TAB] == PLAY
