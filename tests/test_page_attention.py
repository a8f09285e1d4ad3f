"""AppTest tests for the attention page: the charts show the package's numbers, and bad input is handled."""

import numpy as np
import pytest

from bert_playground.interpret import attention as att

from apphelp import run, z_of

PAGE = "pages/4_Attention.py"
A, B = "The cat sat on the mat.", "It was happy there."


def chart(at, key: str) -> dict:
    import json

    found = [c for c in at.get("plotly_chart") if c.key == key]
    assert found, [c.key for c in at.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


@pytest.fixture
def page(app_env):
    at = run(PAGE)
    at.text_area(key="att_a").set_value(A)
    at.text_area(key="att_b").set_value(B).run()
    assert not at.exception
    return at


@pytest.fixture(scope="module")
def maps(tiny):
    return att.compute(tiny, A, B)


def test_heatmap_layer_head_and_mean(page, maps):
    spec = chart(page, "att_heatmap")
    np.testing.assert_allclose(z_of(spec), maps.attentions[0, 0], atol=1e-7)
    assert spec["data"][0]["y"][9] == "it #9" and "%{z:.3f}" in spec["data"][0]["hovertemplate"]
    page.slider(key="att_layer").set_value(2)
    page.slider(key="att_head").set_value(3).run()
    np.testing.assert_allclose(z_of(chart(page, "att_heatmap")), maps.attentions[1, 2], atol=1e-7)
    page.toggle(key="att_mean").set_value(True).run()
    assert page.slider(key="att_head").disabled
    np.testing.assert_allclose(z_of(chart(page, "att_heatmap")), maps.attentions[1].mean(0), atol=1e-6)
    assert "mean over heads" in chart(page, "att_heatmap")["layout"]["title"]["text"]


def test_pair_blocks(page, maps):
    page.slider(key="att_head").set_value(2)
    page.segmented_control(key="att_block").set_value("A->B").run()
    spec = chart(page, "att_heatmap")
    np.testing.assert_allclose(z_of(spec), maps.attentions[0, 1, :9, 9:], atol=1e-7)
    assert spec["data"][0]["y"][0] == "[CLS] #0" and spec["data"][0]["x"][0] == "it #9"
    page.segmented_control(key="att_block").set_value("B->B").run()
    np.testing.assert_allclose(z_of(chart(page, "att_heatmap")), maps.attentions[0, 1, 9:, 9:], atol=1e-7)


def test_single_text_has_no_block_filter(page):
    page.text_area(key="att_b").set_value("").run()
    assert not page.exception and len(page.segmented_control) == 0
    assert z_of(chart(page, "att_heatmap")).shape == (9, 9)


def test_model_view_opens_the_chosen_head(page, maps):
    page.radio(key="att_view").set_value("Model view").run()
    grid = chart(page, "att_grid")
    assert len(grid["data"]) == 2 * 4
    np.testing.assert_allclose(z_of(grid, 6), maps.attentions[1, 2], atol=1e-6)  # 14 tokens: not pooled
    page.selectbox(key="att_grid_layer").set_value(1)
    page.selectbox(key="att_grid_head").set_value(3).run()
    np.testing.assert_allclose(z_of(chart(page, "att_grid_large")), maps.attentions[1, 3], atol=1e-7)
    assert chart(page, "att_grid")["layout"]["shapes"][0]["xref"] == "x8 domain"


def test_statistics_rollout_and_causal(page, maps, tiny):
    page.radio(key="att_view").set_value("Head statistics").run()
    stats = att.head_stats(maps)
    np.testing.assert_allclose(z_of(chart(page, "att_stat_1")), stats.to_sep, atol=1e-6)
    np.testing.assert_allclose(z_of(chart(page, "att_stat_5")), stats.entropy, atol=1e-5)
    page.radio(key="att_view").set_value("Rollout").run()
    assert page.slider(key="att_roll_layer").value == 2
    np.testing.assert_allclose(z_of(chart(page, "att_rollout")), att.rollout(maps.attentions)[1], atol=1e-6)
    page.radio(key="att_view").set_value("Bidirectional vs causal").run()
    spec = chart(page, "att_causal")
    np.testing.assert_allclose(z_of(spec, 0), maps.attentions[0, 0], atol=1e-7)
    causal = z_of(spec, 1)
    assert np.all(np.triu(causal, k=1) == 0)
    np.testing.assert_allclose(causal, att.compute(tiny, A, B, causal=True).attentions[0, 0], atol=1e-7)
    assert any("masks the input" in m.value for m in page.markdown)
    assert page.metric[1].value == "0%"


@pytest.mark.parametrize("a, b, kind, expect", [
    ("   ", "", "error", "empty"),
    (A, "   ", "info", "Sentence B is empty"),
    ("hello", "", "info", "single token"),
])
def test_bad_input_keeps_text(app_env, a, b, kind, expect):
    at = run(PAGE)
    at.text_area(key="att_a").set_value(a)
    at.text_area(key="att_b").set_value(b).run()
    assert not at.exception
    assert any(expect in m.value for m in getattr(at, kind))
    assert at.text_area(key="att_a").value == a and at.text_area(key="att_b").value == b


def test_long_input_is_cut_and_stays_readable(app_env):
    at = run(PAGE)
    at.text_area(key="att_a").set_value("word " * 600)
    at.text_area(key="att_b").set_value("").run()
    assert not at.exception
    assert any("602 tokens" in w.value for w in at.warning)
    assert at.slider(key="att_span").value == (0, 128)
    spec = chart(at, "att_heatmap")
    assert z_of(spec).shape == (128, 128)
    assert len(spec["layout"]["xaxis"]["ticktext"]) <= 40
    at.slider(key="att_span").set_value((500, 512)).run()
    spec = chart(at, "att_heatmap")
    assert z_of(spec).shape == (12, 12) and spec["data"][0]["x"][-1] == "[SEP] #511"
    at.radio(key="att_view").set_value("Model view").run()
    assert not at.exception and z_of(chart(at, "att_grid"), 0).shape == (12, 12)


def test_user_tokens_are_escaped_in_charts():
    from bert_playground.figures import attention as charts

    tokens = ("[CLS]", "<", "b", ">", "[SEP]")
    fig = charts.heatmap(np.eye(5, dtype=np.float32), tokens, np.arange(5), np.arange(5), "t").to_dict()
    assert fig["data"][0]["x"][1] == "&lt; #1" and "&gt;" in fig["layout"]["xaxis"]["ticktext"][3]
    assert not any("<b" in s for s in fig["data"][0]["x"] + list(fig["layout"]["yaxis"]["ticktext"]))
    pair = charts.side_by_side(np.eye(5), np.eye(5), tokens, np.arange(5), ("a", "b")).to_dict()
    assert pair["data"][1]["y"][3] == "&gt; #3"
