"""Hostile and odd text in the Explanations page's and the Masked-LM decoding sections' widgets
(the catalogue and checks of test_bad_input.py)."""
import pytest

from test_bad_input import HOSTILE, TAB_OF, markdown_leaks, page_ok, _open

P2, P7 = "pages/2_Masked_LM.py", "pages/7_Explanations.py"
SOME = ["empty", "50k chars", "NUL and control", "emoji", "markdown/html", "only special tokens", "mask spellings"]
FEW = ["empty", "50k chars", "markdown/html"]
# widget key -> (page, radio set-up, kind of widget, valid follow-up, hostile cases)
WIDGETS = {
    "xp_text": (P7, {}, "text_area", "The capital of France is [MASK].", SOME),
    "xp_a": (P7, {"xp_kind": "nsp"}, "text_area", "She opened the umbrella.", FEW),
    "xp_n_text": (P7, {}, "text_input", "The cat sat on the mat.", FEW),
    "mlm_x_joint_text": (P2, {}, "text_area", "The [MASK] sat on the [MASK].", SOME),
    "mlm_x_cands": (P2, {}, "text_input", "Oxford, Cambridge", FEW),
    "mlm_x_ww_text": (P2, {}, "text_input", "He was unaffable, and nobody liked him.", FEW),
}
CASES = [(w, h) for w, spec in WIDGETS.items() for h in spec[4]]


@pytest.mark.parametrize("widget, hostile", CASES, ids=[f"{w}-{h}" for w, h in CASES])
def test_new_widgets_take_hostile_text(app_env, widget, hostile):
    page, setup, kind, valid, _ = WIDGETS[widget]
    at = _open(page, setup, TAB_OF.get(widget))
    raw = HOSTILE[hostile]
    getattr(at, kind)(key=widget).set_value(raw).run()
    page_ok(at)
    assert getattr(at, kind)(key=widget).value == raw
    assert markdown_leaks(at, raw) == []
    if hostile == "empty":
        assert at.error, "an empty input needs a clear message"
    for e in at.error:
        assert e.value.strip() and "Traceback" not in e.value
    getattr(at, kind)(key=widget).set_value(valid).run()
    page_ok(at)
    assert not at.error, [e.value for e in at.error]


def test_explanations_page_with_a_missing_checkpoint(app_env, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from apphelp import ROOT

    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", "/no/such/checkpoint")
    at = AppTest.from_file(str(ROOT / P7), default_timeout=180)
    at.run()
    page_ok(at)
    assert any("does not exist" in e.value for e in at.sidebar.error)


def test_classroom_mode_offers_no_classifier_folder(app_env, monkeypatch):
    """A classroom server never reads local folders: no classifier-folder field (the embedded model is allowed)."""
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", "embedded")
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", "embedded")
    at = _open(P7, {"xp_kind": "label"})
    assert any("Fine-tune a BERT classifier" in i.value for i in at.info)
    assert "xp_clf_folder" not in [w.key for w in at.text_input]
