"""AppTest of the Explanations page: attribution beside attention, the deletion test, the neuron view, bad input."""
from types import SimpleNamespace

import pytest
import torch

from bert_playground.finetune.classifier import Classifier
from bert_playground.interpret import attribution as A
from bert_playground.interpret.neuron import neuron_view
from bert_playground.figures import describe
from bert_playground.figures.explain import METHOD_NAMES
from playground_ui.ui import md_escape

from apphelp import plotly_specs, run

PAGE = "pages/7_Explanations.py"
DEFAULT = "The capital of France is [MASK]."


def _metric(at, label):
    return next(m.value for m in at.metric if m.label.startswith(label))


def _spec(at, title):
    return next(s for s in plotly_specs(at) if title in ((s["layout"].get("title") or {}).get("text") or ""))


def _bars(spec):
    return {t["name"]: t["y"] for t in spec["data"] if t["type"] == "bar"}


def test_default_mask_target_all_views(app_env, tiny):
    at = run(PAGE)
    assert not at.error
    e = A.explain(A.mask_target(tiny, DEFAULT))
    assert _metric(at, "f(input)") == f"{e.target.probability:.4f}"
    assert _metric(at, "f(baseline") == f"{e.ig.baseline_probability:.4f}"
    assert _metric(at, "Convergence delta") == f"{e.ig.delta:.2g}"
    bars = _bars(_spec(at, "Three views"))
    for m in A.METHODS:
        assert bars[{"attention": "Raw attention", "rollout": "Attention rollout", "grad_x_input": "Gradient × input",
                     "integrated_gradients": "Integrated gradients"}[m]] == pytest.approx(e.scores[m].tolist(), abs=1e-6)
    dele = _spec(at, "Deletion test")
    lines = {t["name"]: t["y"] for t in dele["data"] if t.get("mode") == "lines+markers"}
    assert lines["Integrated gradients"][1:] == pytest.approx(e.deletion.curves["integrated_gradients"], abs=1e-6)
    assert lines["Raw attention"][1:] == pytest.approx(e.deletion.curves["attention"], abs=1e-6)
    assert lines["Random orderings (mean)"][1:] == pytest.approx(e.deletion.random_mean, abs=1e-6)
    areas = next(d.value for d in at.dataframe if "Area under the curve" in d.value.columns)
    assert list(areas["Area under the curve"]) == pytest.approx(list(e.deletion.areas.values()), abs=1e-9)
    assert any("Completeness" in c.value for c in at.caption)
    summary = describe.attribution(e.target.tokens, e.scores, METHOD_NAMES, e.target.candidates)
    assert "Integrated gradients credits '" in summary and any(c.value == md_escape(summary) for c in at.caption)


def test_layer_head_and_steps_change_the_views(app_env, tiny):
    at = run(PAGE)
    at.selectbox(key="xp_layer").set_value(0).run()
    at.selectbox(key="xp_head").set_value(1).run()
    at.number_input(key="xp_steps").set_value(200).run()  # allowed on a short input: a bounded run
    assert not at.exception and not at.error
    e = A.explain(A.mask_target(tiny, DEFAULT), steps=200, layer=0, head=1)
    bars = _bars(_spec(at, "Three views"))
    assert bars["Raw attention"] == pytest.approx(e.scores["attention"].tolist(), abs=1e-6)
    assert bars["Integrated gradients"] == pytest.approx(e.scores["integrated_gradients"].tolist(), abs=1e-6)


@pytest.mark.parametrize("text, message", [
    ("No mask in this one.", "no [MASK]"),
    ("[MASK] [MASK] [MASK]", "Every token"),
])
def test_bad_mask_input_gets_a_message(app_env, text, message):
    at = run(PAGE)
    at.text_area(key="xp_text").set_value(text).run()
    assert not at.exception
    assert any(message in e.value.replace("\\", "") for e in at.error)  # Markdown-escaped
    assert at.text_area(key="xp_text").value == text  # the input stays


def test_long_input_limits_the_steps(app_env, tiny):
    at = run(PAGE)
    at.text_area(key="xp_text").set_value("[MASK] " + "word " * 600).run()
    assert not at.exception and not at.error
    assert at.number_input(key="xp_steps").max == A.MAX_WORK // 512
    assert any("cut" in w.value for w in at.warning)


def test_nsp_target(app_env, tiny):
    at = run(PAGE)
    at.radio(key="xp_kind").set_value("nsp").run()
    t = A.nsp_target(tiny, "She opened the umbrella.", "It had started to rain.")
    assert _metric(at, "f(input)") == f"{t.probability:.4f}"
    assert any(t.prediction in m.value for m in at.markdown)


def test_classifier_label_from_the_session(app_env, tiny):
    from bert_playground.finetune import build_classifier

    at = run(PAGE)
    at.radio(key="xp_kind").set_value("label").run()
    assert any("Fine-tune a BERT classifier" in i.value for i in at.info) or at.radio(key="xp_clf_source")
    model = build_classifier(tiny, ["neg", "pos"], device="cpu").eval()
    clf = Classifier("bert", model, tiny.tokenizer, ("neg", "pos"), torch.device("cpu"))
    at.session_state["ft_result"] = SimpleNamespace(classifier=clf)
    at.run()
    at.radio(key="xp_clf_source").set_value("Fine-tuned on the Fine-tuning page").run()
    assert not at.exception and not at.error
    t = A.label_target(clf, "I think I left my card in the taxi.")
    assert _metric(at, "f(input)") == f"{t.probability:.4f}"


def test_neuron_view_is_the_models_attention(app_env, tiny):
    at = run(PAGE)
    at.selectbox(key="xp_n_layer").set_value(1).run()
    at.selectbox(key="xp_n_head").set_value(2).run()
    at.selectbox(key="xp_n_query").set_value(3).run()
    text = at.text_input(key="xp_n_text").value
    v = neuron_view(tiny, text, 1, 2, 3)
    spec = next(s for s in plotly_specs(at) if any(t.get("hovertemplate", "").endswith("softmax</extra>")
                                                   for t in s["data"]))
    soft = next(t for t in spec["data"] if t.get("hovertemplate", "").endswith("softmax</extra>"))
    assert soft["x"] == pytest.approx(v.model_attention.tolist(), abs=1e-5)
    assert any("differ by at most" in c.value for c in at.caption)
    at.text_input(key="xp_n_text").set_value("").run()
    assert any("empty" in e.value for e in at.error) and not at.exception


def test_classifier_label_from_a_folder(app_env, tiny, tmp_path):
    from bert_playground.finetune import build_classifier
    from bert_playground.finetune.classifier import load_classifier, save_classifier

    model = build_classifier(tiny, ["neg", "pos"], device="cpu").eval()
    save_classifier(Classifier("bert", model, tiny.tokenizer, ("neg", "pos"), torch.device("cpu")), tmp_path / "clf")
    at = run(PAGE)
    at.radio(key="xp_kind").set_value("label").run()
    at.text_input(key="xp_clf_folder").set_value(str(tmp_path / "clf")).run()
    assert not at.exception and not at.error
    t = A.label_target(load_classifier(tmp_path / "clf"), "I think I left my card in the taxi.")
    assert _metric(at, "f(input)") == f"{t.probability:.4f}"
    at.text_input(key="xp_clf_folder").set_value(str(tmp_path / "nothing")).run()
    assert any("not a folder" in e.value for e in at.error) and not at.exception
