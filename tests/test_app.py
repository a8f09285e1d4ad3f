"""AppTest tests for the home page and the input-representation page."""
import pytest

from apphelp import plotly_specs, run


def test_home_shows_checkpoint_and_device(app_env):
    at = run("app.py")
    text = " ".join(m.value for m in at.markdown) + " ".join(str(m.value) for m in at.metric)
    assert "BERT Playground" in at.title[0].value
    assert str(app_env) in text
    assert "CPU" in text


def test_home_with_missing_checkpoint_shows_message(monkeypatch, app_env):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", "/no/such/checkpoint")
    at = run("app.py")
    assert any("does not exist" in e.value for e in at.error)


def test_sidebar_switches_checkpoint(app_env, encoder_only_dir):
    at = run("app.py")
    at.sidebar.radio[0].set_value("Local folder")
    at.sidebar.text_input[0].set_value(str(encoder_only_dir))
    at.sidebar.button[0].click().run()
    assert not at.exception
    assert at.session_state["checkpoint"] == str(encoder_only_dir)
    assert any("no MLM or NSP head" in w.value for w in at.warning)


PAGE = "pages/1_Input_representation.py"


def test_representation_page_table_and_vectors(app_env, tiny):
    from bert_playground.inputs.representation import embedding_parts, represent

    at = run(PAGE)
    at.text_area(key="rep_a").set_value("Hello there").run()
    at.text_area(key="rep_b").set_value("unaffable friend").run()
    df = at.dataframe[0].value
    assert list(df["Token"]) == ["[CLS]", "hello", "there", "[SEP]", "una", "##ffa", "##ble", "friend", "[SEP]"]
    assert list(df["Segment"]) == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    at.selectbox(key="rep_token").set_value(5).run()
    heat = next(s for s in plotly_specs(at) if s["data"] and s["data"][0]["type"] == "heatmap")
    parts = embedding_parts(tiny, represent(tiny, "Hello there", "unaffable friend").encoding)
    assert heat["data"][0]["z"][3] == pytest.approx(parts.sum[5].tolist(), abs=1e-6)
    assert heat["data"][0]["z"][4] == pytest.approx(parts.normed[5].tolist(), abs=1e-6)


@pytest.mark.parametrize("text, expect", [
    ("", "empty"),
    ("   \t ", "empty"),
])
def test_representation_bad_input_keeps_text(app_env, text, expect):
    at = run(PAGE)
    at.text_area(key="rep_a").set_value(text).run()
    assert not at.exception
    assert any(expect in e.value for e in at.error)
    assert at.text_area(key="rep_a").value == text


def test_representation_truncation_notice_and_html_as_text(app_env):
    at = run(PAGE)
    at.text_area(key="rep_a").set_value("<b>bold</b> " * 400).run()
    assert any("cut" in w.value for w in at.warning)
    assert not at.exception
    assert "<b>" not in "".join(m.value for m in at.markdown)


def test_classroom_mode_restricts_checkpoints(monkeypatch, app_env, tiny_dir):
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", "embedded,bert-base-uncased")
    at = run("app.py")
    assert not at.sidebar.text_input  # no free-form folder or Hub id in classroom mode
    assert at.sidebar.selectbox[0].options == ["embedded", "bert-base-uncased"]
