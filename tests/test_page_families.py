"""Every page runs on a tiny checkpoint of every BERT family and says why when something does not apply."""
from __future__ import annotations

import pytest

from apphelp import FILL, MLM_TAB, MLM_TABS, ROOT, open_tab, run
from conftest import FAMILY_KINDS

PAGES = ["app.py", "pages/1_Input_representation.py", "pages/2_Masked_LM.py", "pages/3_Next_sentence_prediction.py",
         "pages/4_Attention.py", "pages/5_Fine-tuning.py", "pages/8_BERT_family.py"]
KINDS = [k for k in FAMILY_KINDS if k != "bert"]  # BERT's pages have their own tests


def _texts(at) -> str:
    return " ".join(str(e.value) for kind in ("info", "warning", "caption", "markdown", "error")
                    for e in getattr(at, kind))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_page_runs_on_every_family(monkeypatch, family_dirs, family_bundles, kind, page):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(family_dirs[kind]))
    monkeypatch.chdir(ROOT)
    at = run(page)
    assert not at.error, [e.value for e in at.error]
    info, text = family_bundles[kind].info, _texts(at)
    frames = list(at.dataframe)
    if page.endswith("2_Masked_LM.py"):  # only the open tab runs: visit each in turn, each without an error
        for label in MLM_TABS[1:]:
            open_tab(at, MLM_TAB, label)
            assert not at.error, (label, [e.value for e in at.error])
            text += " " + _texts(at)
            frames += list(at.dataframe)
    if page.endswith("1_Input_representation.py"):
        if kind in ("roberta", "distilbert", "modernbert"):
            assert "segment" in text
        if kind == "modernbert":
            assert "rotary" in text
        if kind == "albert":
            assert "factorizes" in text and "projected" in text
        if kind in ("roberta", "modernbert", "albert"):
            assert "tokenizer" in text and ("Ġ" in text or "▁" in text)
    elif page.endswith("2_Masked_LM.py"):
        assert family_bundles[kind].tokenizer.mask_token in text
        if kind == "electra-discriminator":
            assert any(d.key == "rtd_table" for d in frames if hasattr(d, "key")) or "P(replaced)" in str(
                [d.value for d in frames])
        else:
            assert "Replaced-token detection needs an ELECTRA discriminator" in text
    elif page.endswith("3_Next_sentence_prediction.py"):
        if info.has_sop:
            assert "sentence-order prediction" in text and "In order" in str([t.label for t in at.toggle])
            assert "P(InOrder)" in text
        elif info.has_nsp:
            assert "P(IsNext)" in text
        else:
            assert "trained without a sentence-pair task" in text
    elif page.endswith("4_Attention.py") and kind == "modernbert":
        assert "rotary" in text
    elif page.endswith("8_BERT_family.py"):
        table = at.dataframe[0].value
        assert str(family_dirs[kind]) in table.columns and info.model_class in table[str(family_dirs[kind])].values


def test_experiment_sheet_runs_two_families(monkeypatch, family_dirs):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(family_dirs["roberta"]))
    monkeypatch.chdir(ROOT)
    at = run("pages/2_Masked_LM.py", tabs={MLM_TAB: "Experiment sheet"})
    at.text_area(key="sheet_models").set_value(f"{family_dirs['roberta']}\n{family_dirs['albert']}").run()
    at.button(key="sheet_go").click().run()
    assert not at.exception and not at.error
    summary = next(d.value for d in at.dataframe if "top-1 accuracy" in d.value.columns)
    assert list(summary["checkpoint"]) == [str(family_dirs["roberta"]), str(family_dirs["albert"])]
    open_tab(at, MLM_TAB, FILL[MLM_TAB])  # the side-by-side comparison is in the fill tab
    at.text_input(key="mlm_compare_with").set_value(str(family_dirs["modernbert"])).run()
    assert not at.error and "[MASK]" in _texts(at) and "<mask>" in _texts(at)
    labels = [b.proto.label for b in at.get("download_button")]  # the comparison's charts go through the exports too
    assert labels.count("Figure as HTML") == labels.count("Data as CSV") == len(at.get("plotly_chart")) > 2
