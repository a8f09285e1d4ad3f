"""AppTest: the fine-tuning page's token-tagging and QA tasks, random-init mode, the experiment sheet and the
what-fine-tuning-changed views (issue 14)."""
from apphelp import plotly_specs, run
from test_page_finetune import wait_for_result

PAGE = "pages/5_Fine-tuning.py"


def titles(at) -> list[str]:
    return [s["layout"]["title"]["text"] for s in plotly_specs(at)]


def start_task(at, task, **widgets):
    at.radio(key="ft_task").set_value(task).run()
    for key, value in widgets.items():
        (at.number_input if key == "ft_epochs" else at.selectbox)(key=key).set_value(value)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="ft_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return wait_for_result(at)


def test_token_tagging_run_try_box_and_sheet(app_env):
    at = run(PAGE)
    at.radio(key="ft_task").set_value("tag").run()
    captions = " ".join(c.value for c in at.caption)
    assert "400 training and 100 held-out sentences" in captions and "first WordPiece" in captions
    start_task(at, "tag", ft_epochs=1)
    assert at.session_state["ft_result"].config.task == "tag"
    assert [m.label for m in at.metric][:3] == ["Entity F1", "Precision", "Recall"]
    t = titles(at)
    assert "Held-out entity F1 and precision" in t and "Entity F1 per type" in t
    assert any(x.startswith("Tag probabilities per word") for x in t)
    probs = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Tag probabilities"))
    assert len(probs["data"][0]["x"]) == len("Just watched Stranger Things with Millie Bobby Brown in Atlanta".split())
    table = at.dataframe[-1].value
    assert list(table["Task"]) == ["Tag words (NER)"] and list(table["Metric"]) == ["entity F1"]
    at.text_input(key="ft_try_tag").set_value("  ").run()
    assert any("empty" in e.value for e in at.error) and at.text_input(key="ft_try_tag").value == "  "


def test_qa_run_highlights_the_answer_and_charts_start_end(app_env):
    at = start_task(run(PAGE), "qa", ft_epochs=1)
    res = at.session_state["ft_result"]
    assert res.config.task == "qa" and 0 <= res.metrics.exact_match <= res.metrics.f1 <= 1
    assert [m.label for m in at.metric][:2] == ["Exact match", "F1 (SQuAD)"]
    spans = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Answer start and end"))
    assert len(spans["data"]) == 2 and abs(sum(spans["data"][0]["y"]) - 1) < 1e-4
    assert any(":orange-background[" in m.value for m in at.markdown)  # the answer, highlighted
    at.text_input(key="ft_try_q").set_value("").run()
    assert any("empty" in e.value for e in at.error)


def test_random_init_sheet_curves_csv_and_what_changed(app_env):
    at = start_task(run(PAGE), "classify", ft_epochs=2)
    at = start_task(at, "classify", ft_mode="random", ft_epochs=2)
    table = at.dataframe[-1].value
    assert list(table["Mode"]) == ["Full fine-tuning", "Random initialisation (no pre-training)"]
    assert list(table["Run"]) == [1, 2] and all(0 <= a <= 1 for a in table["Accuracy"])
    curves = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Held-out metric vs time"))
    assert len(curves["data"]) == 2 and all(len(tr["x"]) >= 1 for tr in curves["data"])
    assert at.get("download_button")
    assert "What fine-tuning changed" in [s.value for s in at.subheader]
    t = titles(at)
    assert "Attention before and after fine-tuning, and the difference" in t
    assert "[CLS] of held-out examples, before (PCA)" in t and "[CLS] of held-out examples, after epoch 2 (PCA)" in t
    cls = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].endswith("after epoch 2 (PCA)"))
    assert sum(len(tr["x"]) for tr in cls["data"]) == 80  # every held-out example, coloured by label
    att = next(s for s in plotly_specs(at) if s["layout"]["title"]["text"].startswith("Attention before"))
    assert all(abs(sum(row) - 1) < 1e-4 for row in att["data"][0]["z"])  # 'before' rows are distributions


def test_pairs_task_needs_pairs_and_bad_uploads_are_explained(app_env):
    at = run(PAGE)
    at.radio(key="ft_task").set_value("pairs").run()  # the shipped entailment pairs are the default source
    assert not at.exception and not at.button(key="ft_start").disabled
    assert any("122 training and 30 held-out examples (sentence pairs)" in c.value for c in at.caption)
    at.radio(key="ft_source_pairs").set_value("Upload CSV/TSV").run()
    assert not at.exception and at.button(key="ft_start").disabled
    at.radio(key="ft_task").set_value("qa").run()
    at.radio(key="ft_source_qa").set_value("Upload SQuAD JSON").run()
    assert any("SQuAD-format JSON" in i.value for i in at.info) and at.button(key="ft_start").disabled


def _squad_bytes(context, text, start):
    import json

    return json.dumps({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "1", "question": "q?", "answers": [{"text": text, "answer_start": start}]}]}]}]}).encode()


def test_bad_conll_and_squad_uploads_get_clear_messages(app_env):
    at = run(PAGE)
    at.radio(key="ft_task").set_value("tag").run()
    at.radio(key="ft_source_tag").set_value("Upload CoNLL").run()
    cases = [(b"Paris\tB-location\nis\tO\textra\n", "different number of columns"),
             (b"Paris\tLOCATION\nis\tO\n", "not BIO tags")]
    for raw, expect in cases:
        at.file_uploader(key="ft_upload_tag").set_value(("bad.conll", raw, "text/plain")).run()
        assert not at.exception and any(expect in e.value for e in at.error), [e.value for e in at.error]
        assert at.button(key="ft_start").disabled
    good = b"\n\n".join(b"Paris\tB-location\nis\tO\nnice\tO" for _ in range(12))
    at.file_uploader(key="ft_upload_tag").set_value(("good.conll", good, "text/plain")).run()
    assert not at.error and any("held-out sentences" in c.value for c in at.caption)
    at.radio(key="ft_task").set_value("qa").run()
    at.radio(key="ft_source_qa").set_value("Upload SQuAD JSON").run()
    cases = [(_squad_bytes("Rollo led them.", "Vikings", 0), "not in the passage"),
             (_squad_bytes("word " * 20_000, "word", 0), "passage of 20,000 words"),
             (b'{"data": [{"paragraphs": [{"qas": []}]}]}', "has no 'context' field")]
    for raw, expect in cases:
        at.file_uploader(key="ft_upload_qa").set_value(("bad.json", raw, "application/json")).run()
        assert not at.exception and any(expect in e.value for e in at.error), [e.value for e in at.error]
        assert at.button(key="ft_start").disabled
