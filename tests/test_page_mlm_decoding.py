"""AppTest of the Masked-LM page's decoding sections: joint fill, whole-word masks, candidates, left vs right."""
import pytest

from bert_playground.objectives import decoding as D

from apphelp import FILL, plotly_specs, run

PAGE = "pages/2_Masked_LM.py"


def _df(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_joint_whole_word_candidates_and_sides(app_env, tiny):
    at = run(PAGE, tabs=FILL)  # the decoding sections are in the fill tab
    assert not at.error
    text = at.text_area(key="mlm_x_joint_text").value
    j = D.joint_fill(tiny, text, "confidence")
    table = next(d.value for d in at.dataframe if "Jointly" in d.value.columns and "Original piece" not in d.value.columns)
    assert list(table["Jointly"]) == list(j.tokens) and list(table["Each mask on its own"]) == list(j.independent)
    assert any(c.value == j.filled for c in at.code)
    at.radio(key="mlm_x_order").set_value("left-to-right").run()
    j2 = D.joint_fill(tiny, text, "left-to-right")
    table = next(d.value for d in at.dataframe if "Jointly" in d.value.columns and "Original piece" not in d.value.columns)
    assert list(table["Filled as step"]) == list(range(1, len(j2.tokens) + 1)) and list(table["Jointly"]) == list(j2.tokens)
    # whole word
    ww = _df(at, "Original piece")
    w = D.mask_whole_word(tiny.tokenizer, at.text_input(key="mlm_x_ww_text").value, 2)
    assert list(ww["Original piece"]) == list(w.pieces) and len(w.pieces) > 1
    # candidates on the fill text
    ftext = at.text_area(key="fill_text").value
    cands = D.score_candidates(tiny, ftext, at.text_input(key="mlm_x_cands").value)
    chart = next(s for s in plotly_specs(at) if "pseudo-log-likelihood" in s["layout"]["title"]["text"])
    assert chart["data"][0]["x"] == pytest.approx([c.pll for c in cands], abs=1e-5)
    # left vs right
    s = D.sides(tiny, ftext, 5)
    spec = next(p for p in plotly_specs(at) if len(p["data"]) == 3 and all(t["type"] == "bar" for t in p["data"]))
    assert [t["x"] for t in spec["data"]] == [pytest.approx([p.probability for p in ps], abs=1e-6)
                                             for ps in (s.both, s.left, s.right)]
    assert any("Why both sides matter" in m.value for m in at.markdown)


def test_decoding_sections_bad_input(app_env):
    at = run(PAGE, tabs=FILL)  # the decoding sections are in the fill tab
    at.text_area(key="mlm_x_joint_text").set_value("no masks at all").run()
    at.text_input(key="mlm_x_cands").set_value(" , ").run()
    at.text_input(key="mlm_x_ww_text").set_value("... !!! ?").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "no \\[MASK\\]" in errors or "no [MASK]" in errors
    assert "No candidate words" in errors and "only punctuation" in errors
