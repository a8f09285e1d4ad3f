"""AppTest: the fine-tuning page trains in a background thread and draws curves, results and a run table."""
import time

from apphelp import plotly_specs, run

PAGE = "pages/5_Fine-tuning.py"


def _state(at, key):
    return at.session_state[key] if key in at.session_state else None


def wait_for_result(at, limit=180):
    """Rerun the script (as the page's fragment timer would) until the job has been recorded."""
    deadline = time.time() + limit
    while time.time() < deadline:
        job = _state(at, "ft_job")
        if job is not None and job.done and _state(at, "ft_recorded") is job:
            break
        time.sleep(0.3)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    job = _state(at, "ft_job")
    assert job is not None and job.done, "training did not finish in time"
    return at


def start(at, **widgets):
    kinds = {"ft_mode": at.selectbox, "ft_epochs": at.number_input}
    for key, value in widgets.items():
        kinds[key](key=key).set_value(value)
    at.run()
    at.button(key="ft_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_shows_shipped_data_and_device(app_env):
    at = run(PAGE)
    assert at.title[0].value == "Fine-tuning"
    captions = " ".join(c.value for c in at.caption).replace("\\", "")  # label names are Markdown-escaped
    assert "320 training and 80 held-out examples" in captions and "card_lost (64)" in captions
    assert "CPU" in captions
    assert at.number_input(key="ft_layers_full").value == 2 and at.number_input(key="ft_epochs").value == 3
    assert any("Start training" in i.value for i in at.info)


def test_short_training_shows_curves_metrics_and_run_table(app_env):
    at = start(run(PAGE), ft_epochs=1)
    wait_for_result(at)
    specs = plotly_specs(at)
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert "Training loss (cross-entropy)" in titles and "Held-out accuracy and macro-F1" in titles
    loss = next(s for s in specs if s["layout"]["title"]["text"].startswith("Training loss"))
    assert len(loss["data"][0]["x"]) == 20  # 320 examples / batch 16, one epoch
    acc = next(s for s in specs if s["layout"]["title"]["text"].startswith("Held-out"))
    assert acc["data"][0]["x"][-1] == 20
    cm = next(s for s in specs if s["layout"]["title"]["text"].startswith("Confusion"))
    assert sum(map(sum, cm["data"][0]["z"])) == 80 and cm["data"][0]["x"][0] == "card_lost"
    assert any(s["layout"]["title"]["text"] == "Class probabilities" for s in specs)
    assert [m.label for m in at.metric][:2] == ["Accuracy", "Macro-F1"]
    table = at.dataframe[-1].value
    assert list(table["Mode"]) == ["Full fine-tuning"] and list(table["Layers"]) == ["2"]
    assert 0 <= table["Accuracy"][0] <= 1 and "CPU" in table["Device"][0]

    # a second run, the baseline: the comparison table grows
    start(at, ft_mode="baseline", ft_epochs=2)
    wait_for_result(at)
    table = at.dataframe[-1].value
    assert list(table["Mode"]) == ["Full fine-tuning", "Bag-of-words baseline"]
    assert list(table["Layers"]) == ["2", "–"]
    start(at, ft_mode="frozen", ft_epochs=2)
    assert at.number_input(key="ft_layers_frozen").value == 2  # frozen: all layers by default
    wait_for_result(at)
    assert list(at.dataframe[-1].value["Mode"])[-1] == "Frozen encoder (head only)"

    # the try box: bad input is a message, the text stays
    at.text_input(key="ft_try_a").set_value("   ").run()
    assert any("empty" in e.value for e in at.error) and at.text_input(key="ft_try_a").value == "   "


def test_stop_button_and_sessions_do_not_share_runs(app_env):
    at = start(run(PAGE), ft_epochs=50)
    other = run(PAGE)  # another browser session
    assert _state(other, "ft_job") is None and "Runs in this session" not in [s.value for s in other.subheader]
    deadline = time.time() + 60
    while not any(ev.__class__.__name__ == "Step" for ev in at.session_state["ft_job"].events()):
        assert time.time() < deadline
        time.sleep(0.2)
    at.run()
    at.button(key="ft_stop").click().run()
    wait_for_result(at)
    result = at.session_state["ft_result"]
    assert result.stopped == "stopped" and result.epochs < 50
    assert list(at.dataframe[-1].value["Stopped"]) == ["stopped"]
    other.run()
    assert _state(other, "ft_result") is None


def test_hub_option_explains_how_to_enable(app_env):
    at = run(PAGE)
    at.radio(key="ft_source").set_value("Hugging Face dataset").run()
    assert not at.exception
    from bert_playground.datasets import hub_available

    if not hub_available():
        assert any("pip install datasets" in i.value for i in at.info)
        assert at.button(key="ft_start").disabled


def test_upload_option_waits_for_a_file(app_env):
    at = run(PAGE)
    at.radio(key="ft_source").set_value("Upload CSV/TSV").run()
    assert not at.exception
    assert any("Upload a labelled file" in i.value for i in at.info)
    assert at.button(key="ft_start").disabled


def test_one_layer_checkpoint_and_missing_checkpoint(app_env, monkeypatch, tmp_path):
    from conftest import build_checkpoint

    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(build_checkpoint(tmp_path / "one", layers=1)))
    at = run(PAGE)
    assert at.number_input(key="ft_layers_full").value == 1
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", "/no/such/checkpoint")
    at = run(PAGE)
    assert any("baseline works without one" in i.value for i in at.info) and at.button(key="ft_start").disabled
    start(at, ft_mode="baseline", ft_epochs=3)
    wait_for_result(at)
    assert list(at.dataframe[-1].value["Mode"]) == ["Bag-of-words baseline"]
    assert at.session_state["ft_result"].metrics.accuracy > 0.5
