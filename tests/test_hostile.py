"""Issue 19: the classes of failure found by hostile testing, each tested as a class through the package, the CLI
and AppTest (the orphaned-job browser test is in test_browser_jobs.py).

Jobs (ownership, cap, queue), labels, paths as data (never glob patterns), the time limit around evaluation,
settings the user can see, seeds, typed special tokens, Markdown in labels, the model cache key and the folders a
shared server may read.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from test_bad_input import page_ok
from test_finetune import csv_bytes

from bert_playground import PlaygroundError, datasets, finetune
from bert_playground.checkpoints import folders as checkpoint
from bert_playground.checkpoints import models
from bert_playground.cli import main as cli
from bert_playground.core import jobs

from apphelp import FILL, ROOT

# ---- jobs: ownership, cap, queue ---------------------------------------------------------------


def _ticker(stop, n=10_000, dt=0.01):
    for i in range(n):
        if stop.is_set():
            return
        time.sleep(dt)
        yield i


def test_cap_queues_the_job_over_it_and_starts_it_when_a_slot_frees():
    reg = jobs.Registry(max_jobs=1)
    a = reg.submit(jobs.Job(lambda s: _ticker(s), "a"), owner="s1")
    b = reg.submit(jobs.Job(lambda s: _ticker(s, 3), "b"), owner="s2")
    assert not a.queued and b.queued and reg.position(b) == 1 and len(reg.running()) == 1
    reg.cancel(a)
    assert b.wait(10) and b.error is None and len(b.events()) == 3
    assert reg.position(b) is None


def test_a_full_queue_refuses_with_a_message():
    reg = jobs.Registry(max_jobs=1)
    running = [reg.submit(jobs.Job(lambda s: _ticker(s), "x"), owner="o") for _ in range(1 + jobs.MAX_QUEUE)]
    with pytest.raises(PlaygroundError, match="server is busy"):
        reg.submit(jobs.Job(lambda s: _ticker(s), "y"), owner="o")
    for j in running:
        reg.cancel(j)


def test_cancel_takes_a_waiting_job_out_of_the_queue():
    reg = jobs.Registry(max_jobs=1)
    a = reg.submit(jobs.Job(lambda s: _ticker(s), "a"), owner="s1")
    b = reg.submit(jobs.Job(lambda s: _ticker(s), "b"), owner="s1")
    reg.cancel(b)
    assert b.done and "before it started" in b.error and b.started is None
    reg.cancel(a)
    assert a.wait(5)


def test_watchdog_stops_the_jobs_of_a_session_that_is_gone_and_forgets_them():
    live = {"s1": True, "s2": True}
    reg = jobs.Registry(max_jobs=4, grace=0.3, tick=0.05)
    reg.alive = lambda owner: live[owner]
    a = reg.submit(jobs.Job(lambda s: _ticker(s), "a"), owner="s1")
    b = reg.submit(jobs.Job(lambda s: _ticker(s), "b"), owner="s2")
    live["s1"] = False  # the tab closed (or reloaded)
    assert a.wait(5) and a.stop_flag.is_set()
    assert not b.done  # the other session's job goes on
    deadline = time.monotonic() + 5
    while reg.get(a.id) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reg.get(a.id) is None  # its events (and the model they hold) are released
    reg.cancel(b)


def test_a_short_disconnect_is_forgiven():
    live = {"old": True}
    reg = jobs.Registry(max_jobs=2, grace=1.0, tick=0.05)
    reg.alive = lambda owner: live[owner]
    a = reg.submit(jobs.Job(lambda s: _ticker(s), "a"), owner="old")
    live["old"] = False
    time.sleep(0.3)  # shorter than the grace: a network blip
    live["old"] = True
    time.sleep(1.2)
    assert not a.done and a.owner == "old"
    reg.cancel(a)


def test_a_shared_job_is_never_stopped_by_the_watchdog_and_forgotten_when_done():
    reg = jobs.Registry(max_jobs=2, grace=0.1, tick=0.05)
    reg.alive = lambda owner: False  # every session gone
    job = reg.submit(jobs.Job(lambda s: iter(range(3)), "index"), owner=None)
    assert job.wait(5) and job.error is None and job.events() == [0, 1, 2]
    time.sleep(0.3)
    assert reg.get(job.id) is None


def test_max_jobs_setting(monkeypatch):
    monkeypatch.setenv(jobs.ENV_MAX_JOBS, "3")
    assert jobs.Registry().max_jobs == 3
    for bad in ("0", "-1", "lots", "1e3"):
        monkeypatch.setenv(jobs.ENV_MAX_JOBS, bad)
        with pytest.raises(PlaygroundError, match=jobs.ENV_MAX_JOBS):
            jobs.default_max_jobs()
    monkeypatch.delenv(jobs.ENV_MAX_JOBS)
    assert jobs.default_max_jobs() == max(1, (os.cpu_count() or 1) // 2)


# ---- labels: any label text is a class or a reported missing value -----------------------------

ODD_LABELS = [("²", "³"), ("--1", "1"), ("٣", "3"), ("1.5", "2.5"), ("+1", "-1"), ("inf", "-inf"), ("True", "False")]


@pytest.mark.parametrize("labels", ODD_LABELS, ids=["/".join(p) for p in ODD_LABELS])
def test_any_label_text_is_a_class(labels):
    rows = [(f"sentence {i}", labels[i % 2]) for i in range(20)]
    data = datasets.to_labelled(datasets.read_table(csv_bytes(rows), "odd.csv"), "text", "label")
    assert len(data.label_names) == 2 and set(data.label_names) == {datasets.tables._canonical(v) for v in labels}


@pytest.mark.parametrize("missing", ["NaN", "nan", "NAN", " nan "])
def test_nan_labels_are_missing_values(missing):
    rows = [(f"sentence {i}", ("a", "b")[i % 2]) for i in range(20)] + [("orphan", missing)]
    with pytest.raises(PlaygroundError, match=r"1 row\(s\) have no label .*'NaN' and empty labels are missing"):
        datasets.to_labelled(datasets.read_table(csv_bytes(rows), "nan.csv"), "text", "label")


def test_two_rows_per_class_still_hold_some_out():
    rows = [(f"sentence {i}", f"c{i % 5}") for i in range(10)]  # 5 classes x 2 rows
    train, held = datasets.train_and_holdout(datasets.read_table(csv_bytes(rows), "five.csv"), "text", "label")
    assert len(held) == 5 and len(train) == 5


def test_cli_finetune_with_odd_labels_and_nan(tmp_path, capsys):
    odd = tmp_path / "odd.csv"
    odd.write_bytes(csv_bytes([(f"sentence {i} {'up' if i % 2 else 'down'}", "²³"[i % 2]) for i in range(30)]))
    assert cli(["finetune", "--train", str(odd), "--mode", "baseline", "--epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["labels"] == ["²", "³"]
    nan = tmp_path / "nan.csv"
    nan.write_bytes(csv_bytes([(f"s {i}", ("a", "NaN", "nan")[i % 3]) for i in range(30)]))
    assert cli(["finetune", "--train", str(nan), "--mode", "baseline", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing values" in err and "Traceback" not in err


# ---- paths are data, never glob patterns ----------------------------------------------------------

@pytest.mark.parametrize("folder", ["bert[v2]", "NLP course [2025]", "star*", "what?", "[!x]"])
def test_checkpoint_in_a_folder_with_glob_characters(tmp_path, tiny_dir, folder):
    ckpt = tmp_path / folder / "ckpt"
    shutil.copytree(tiny_dir, ckpt)
    bundle = models.load(str(ckpt), "cpu")
    assert bundle.info.layers >= 1 and Path(bundle.info.path) == ckpt.resolve()


def test_embedded_checkpoint_under_a_folder_with_brackets(tmp_path, tiny_dir, monkeypatch):
    clone = tmp_path / "NLP course [2025]" / "assets" / "model"
    shutil.copytree(tiny_dir, clone)
    monkeypatch.setattr(checkpoint, "EMBEDDED_DIR", clone)  # the one place of the folder rules
    assert models.resolve("embedded")[2] == clone
    assert models.load("embedded", "cpu").info.source == "embedded"


def test_corpus_pattern_only_globs_after_the_existing_folder(tmp_path):
    from bert_playground.inputs.corpus import corpus_files

    d = tmp_path / "NLP course [2025]"
    d.mkdir()
    for name in ("wiki_00", "wiki_01"):
        (d / name).write_text("<doc>\nA. B.\n</doc>\n")
    assert [Path(p).name for p in corpus_files(str(d / "wiki_*"))] == ["wiki_00", "wiki_01"]
    assert corpus_files(str(d / "wiki_00")) == [str(d / "wiki_00")]


def test_no_glob_of_a_folder_path_in_the_package():
    """The class, not the example: no glob.glob/iglob anywhere except the one helper that escapes the folder."""
    hits = []
    for f in (ROOT / "bert_playground").rglob("*.py"):
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if ("glob.glob(" in line or "glob.iglob(" in line) and f.name != "paths.py":
                hits.append(f"{f.name}:{n}")
    assert not hits, hits


# ---- the time limit bounds the whole run -------------------------------------------------------

def _labelled(n, name="d"):
    rows = [(f"the {'good' if i % 2 else 'bad'} thing number {i}", ("pos", "neg")[i % 2]) for i in range(n)]
    return datasets.to_labelled(datasets.read_table(csv_bytes(rows), f"{name}.csv"), "text", "label")


def test_evaluation_is_on_a_bounded_sample_and_says_so(tiny):
    train, held = _labelled(40), _labelled(300, "held")
    events = []
    res = finetune.run(tiny, train, held, finetune.FinetuneConfig(mode="baseline", epochs=1, eval_rows=50),
                       on_event=events.append)
    assert res.n_eval == 50 and sum(res.metrics.confusion[0]) + sum(res.metrics.confusion[1]) == 50
    assert any("50 of the 300 held-out rows" in n for n in res.notices)
    assert "notices" in res.summary()
    phases = [e.text for e in events if isinstance(e, finetune.Phase)]
    assert phases[0].startswith("tokenizing") and any("evaluating" in p for p in phases)


def test_time_limit_includes_the_final_evaluation(tiny):
    train, held = _labelled(400), _labelled(2000, "held")
    t0 = time.perf_counter()
    res = finetune.run(tiny, train, held, finetune.FinetuneConfig(mode="full", epochs=50, max_seconds=3.0,
                                                                  batch_size=8, eval_rows=2000))
    wall = time.perf_counter() - t0
    assert res.stopped == "time limit" and wall < 3.0 + 1.5, wall


def test_curves_status_says_what_the_run_does():
    from playground_ui.views import finetune as view

    assert view.curves([finetune.Phase("final evaluation on 2,000 held-out rows…")]).status.startswith("final evaluation")


# ---- seeds ---------------------------------------------------------------------------------------

def test_huge_seed_is_a_clear_error(tokenizer, capsys):
    from bert_playground.objectives.masking import mask_text

    for seed in (99999999999999999999, -1, 2**63):
        with pytest.raises(PlaygroundError, match="seed must be a whole number"):
            mask_text(tokenizer, "a sentence to mask", seed=seed)
    with pytest.raises(PlaygroundError, match="seed"):
        finetune.FinetuneConfig(seed=2**70).check()
    largest = mask_text(tokenizer, "a sentence to mask", seed=2**63 - 1)  # the largest seed works, and masks
    assert largest.tokens == ["[CLS]", "a", "sentence", "to", "mask", "[SEP]"]
    assert len(largest.input_tokens) == len(largest.tokens) and largest.input_tokens[0] == "[CLS]"


def test_cli_mask_huge_seed_exits_2(tiny_dir, capsys):
    assert cli(["mask", "a sentence", "--seed", "99999999999999999999", "--model", str(tiny_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: The seed must be") and err.count("\n") == 1


# ---- text: zero-width only, typed special tokens -------------------------------------------------

def test_zero_width_only_text_is_empty(tiny, capsys, tiny_dir):
    from bert_playground.interpret import attention

    for text in ("\u200b\u200c\u200d", "\ufeff\u2060 \u200b"):
        with pytest.raises(PlaygroundError, match="empty"):
            attention.compute(tiny, text)
    assert cli(["attention", "\u200b\u200b", "--model", str(tiny_dir)]) == 2


def test_typed_special_tokens_are_said_the_same_way_everywhere(tiny):
    from bert_playground.inputs import representation
    from bert_playground.inputs.corpus import parse_pasted
    from bert_playground.interpret import attention
    from bert_playground.objectives import masking, mlm, nsp

    text = "the cat sat [SEP] on the mat [CLS]"
    said = [attention.compute(tiny, text).notices, representation.represent(tiny, text).notices,
            mlm.fill(tiny, text + " a [MASK] here").notices, masking.mask_text(tiny.tokenizer, text).notices,
            nsp.encode_pair(tiny, text, "The dog slept.").notices, nsp.encode_pair(tiny, "The dog slept.", text).notices,
            nsp.score_text(tiny, text, "The dog slept.").packed.notices,
            nsp.read_corpus(tiny.tokenizer, parse_pasted(f"One. {text}.\n\nTwo. Three.")).notices]
    for notices in said:
        hits = [n for n in notices if "[CLS], [SEP] in your text" in n or "[SEP], [CLS] in your text" in n]
        assert len(hits) == 1 and hits[0].level == "warning", notices
    plain = "the cat sat"
    for notices in (attention.compute(tiny, plain).notices, masking.mask_text(tiny.tokenizer, plain).notices,
                    nsp.encode_pair(tiny, plain, "The dog slept.").notices,
                    nsp.read_corpus(tiny.tokenizer, nsp.demo_documents()).notices):
        assert not any("special token" in n for n in notices), notices
    # the [MASK] a masking text may hold is the playground's business, not a typed special token
    assert masking.mask_text(tiny.tokenizer, "a [MASK] b").notices == ()


def test_cli_says_typed_special_tokens_for_mask_and_nsp(tiny_dir, capsys):
    for argv in (["mask", "a [SEP] b c d"], ["nsp", "a [CLS] b", "c d"]):
        assert cli([*argv, "--model", str(tiny_dir), "--json"]) == 0
        err = capsys.readouterr().err
        assert "note: [" in err and "in your text is read as the model's own special token" in err, err


@pytest.mark.parametrize("page, setup, widget", [
    ("pages/2_Masked_LM.py", {}, "mlm_text"),
    ("pages/3_Next_sentence_prediction.py", {"nsp_source": "Type both sentences"}, "nsp_a"),
    ("pages/3_Next_sentence_prediction.py", {"nsp_source": "Type both sentences"}, "nsp_b"),
    ("pages/3_Next_sentence_prediction.py", {"nsp_source": "Your documents"}, "nsp_corpus"),
    ("pages/1_Input_representation.py", {}, "rep_a"),
    ("pages/4_Attention.py", {}, "att_a"),
])
def test_pages_show_the_typed_special_token_notice(app_env, page, setup, widget):
    at = _page(page)
    for key, value in setup.items():
        at.radio(key=key).set_value(value).run()
    said = lambda: [w.value for w in at.warning if "in your text is read as the model's own special token" in w.value]  # noqa: E731
    assert said() == []
    text = "It rained all day. [SEP] The roads were wet.\n\nA cat sat. It purred." if widget == "nsp_corpus" \
        else "the cat sat [SEP] on the mat"
    at.text_area(key=widget).set_value(text).run()
    page_ok(at)
    assert len(said()) == 1 and said()[0].startswith("[SEP] in your text"), [w.value for w in at.warning]


# ---- Markdown in labels ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [":smile:", ":red[alert]", "https://evil.example", "www.evil.example", "a@b.example"])
def test_md_escape_defuses_shortcodes_and_links(raw):
    from playground_ui.ui import md_escape

    out = md_escape(raw)
    assert raw not in out and out.replace("\\", "") == raw


# ---- the model cache and the folders a shared server reads ---------------------------------------

def test_every_spelling_of_the_embedded_folder_is_one_cache_key(monkeypatch):
    monkeypatch.chdir(ROOT)
    if not (ROOT / "assets/model/config.json").is_file():
        pytest.skip("no embedded checkpoint")
    keys = {models.cache_key(n) for n in ("embedded", "./assets/model", "assets/model/", str(ROOT / "assets" / "model"))}
    assert keys == {"embedded"}


def test_local_spellings_share_one_key(tiny_dir, monkeypatch):
    monkeypatch.chdir(tiny_dir.parent)
    assert models.cache_key(str(tiny_dir)) == models.cache_key(f"./{tiny_dir.name}/") == str(tiny_dir.resolve())


@pytest.fixture
def root(tmp_path, tiny_dir, monkeypatch):
    r = tmp_path / "checkpoints"
    shutil.copytree(tiny_dir, r / "bert[v2]")
    (tmp_path / "outside").mkdir()
    shutil.copytree(tiny_dir, tmp_path / "outside" / "secret")
    (r / "escape").symlink_to(tmp_path / "outside" / "secret")
    monkeypatch.setenv(models.ENV_ROOT, str(r))
    return r


def test_shared_server_reads_only_below_the_root(root):
    assert models.load("bert[v2]", "cpu", shared=True).info.source == "local"
    assert models.load(str(root / "bert[v2]"), "cpu", shared=True).info.layers >= 1
    for name in ("../outside/secret", str(root.parent / "outside" / "secret"), "./escape", "escape/",
                 "bert[v2]/../../outside/secret", "/etc", "~"):
        with pytest.raises(models.CheckpointError, match="only inside its checkpoint folder") as e:
            models.load(name, "cpu", shared=True)
        assert "outside" not in str(e.value).replace(name, "")


def test_shared_server_without_a_root_refuses_every_local_folder(tiny_dir, monkeypatch):
    monkeypatch.delenv(models.ENV_ROOT, raising=False)
    msgs = set()
    for name in (str(tiny_dir), "/no/such/folder", "/etc", "./x"):
        with pytest.raises(models.CheckpointError, match="does not read local folders") as e:
            models.resolve(name, shared=True)
        msgs.add(str(e.value))
    assert len(msgs) == 1  # the same words whether the path exists or not: nothing is revealed


def test_messages_echo_no_file_content(tmp_path, tiny_dir):
    d = shutil.copytree(tiny_dir, tmp_path / "other")
    cfg = json.loads((d / "config.json").read_text())
    cfg["model_type"] = "TOP-SECRET-VALUE"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(models.CheckpointError) as e:
        models.load(str(d), "cpu")
    assert "TOP-SECRET" not in str(e.value) and "unknown checkpoint" in str(e.value)
    (d / "config.json").write_text('{"model_type": "bert", "num_hidden_layers": "SECRET-TOKEN"}')
    with pytest.raises(models.CheckpointError) as e:
        models.load(str(d), "cpu")
    assert "SECRET" not in str(e.value)


def test_served_to_others(monkeypatch):
    from playground_ui import ui

    monkeypatch.setattr(ui, "allowed", lambda: None)
    for address, shared in (("localhost", False), ("127.0.0.1", False), ("::1", False), ("0.0.0.0", True),
                            ("192.168.1.5", True)):
        monkeypatch.setattr(ui.st, "get_option", lambda key, a=address: a)
        assert ui.served_to_others() is shared, address
    monkeypatch.setattr(ui, "allowed", lambda: ["embedded"])
    assert ui.served_to_others()


# ---- AppTest: the pages ------------------------------------------------------------------------------

P2, P5 = "pages/2_Masked_LM.py", "pages/5_Fine-tuning.py"


def _page(path, tabs=None):
    """The page after one run; `tabs` ({key: label}) opens those tabs first (only an open tab runs)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    for key, label in (tabs or {}).items():
        at.session_state[key] = label
    at.run()
    page_ok(at)
    return at


@pytest.mark.parametrize("key, value, why", [("ft_epochs", 1_000_000, "epochs must be"),
                                             ("ft_epochs", 0, "epochs must be"),
                                             ("ft_max_seconds", 1_000_000, "time limit"),
                                             ("ft_layers_full", 99, "layers kept")])
def test_invalid_setting_disables_start_with_the_reason(app_env, key, value, why):
    at = _page(P5)
    assert not at.button(key="ft_start").disabled
    at.number_input(key=key).set_value(value).run()
    page_ok(at)
    assert at.number_input(key=key).value == value  # the value typed stays what the user sees
    assert at.button(key="ft_start").disabled
    assert any("Start is disabled" in w.value and why in w.value for w in at.warning), [w.value for w in at.warning]


def test_upload_with_superscript_labels_trains(app_env):
    at = _page(P5)
    at.radio(key="ft_source").set_value("Upload CSV/TSV").run()
    raw = csv_bytes([(f"sentence {i}", "²³"[i % 2]) for i in range(20)])
    at.file_uploader(key="ft_upload").set_value(("sup.csv", raw, "text/csv")).run()
    page_ok(at)
    assert any("² (8)" in c.value and "³ (8)" in c.value for c in at.caption), [c.value for c in at.caption]
    assert not at.button(key="ft_start").disabled


def test_start_submits_to_the_registry_owned_by_the_session(app_env):
    at = _page(P5)
    at.selectbox(key="ft_mode").set_value("baseline").run()
    at.button(key="ft_start").click().run()
    page_ok(at)
    job = at.session_state["ft_job"]
    assert jobs.REGISTRY.get(job.id) is job and job.owner is not None
    assert job.wait(60) and job.error is None


def test_queued_run_shows_its_place(app_env, monkeypatch):
    blocker = jobs.Job(lambda s: _ticker(s), "blocker")
    monkeypatch.setattr(jobs.REGISTRY, "_max", 1)
    jobs.REGISTRY.submit(blocker, owner="someone-else")
    try:
        at = _page(P5)
        at.selectbox(key="ft_mode").set_value("baseline").run()
        at.button(key="ft_start").click().run()
        page_ok(at)
        assert any("number 1 in the queue" in i.value for i in at.info), [i.value for i in at.info]
        job = at.session_state["ft_job"]
        assert job.queued
    finally:
        jobs.REGISTRY.cancel(blocker)
    assert job.wait(60) and job.error is None


def test_fill_with_600_masks_draws_a_bounded_number_of_charts(app_env):
    at = _page(P2, FILL)
    at.text_area(key="fill_text").set_value("a " + "[MASK] " * 600).run()
    page_ok(at)
    assert 0 < len(at.get("plotly_chart")) <= 12 + 6
    assert any("masks: every guess is in the table; charts for the first 12 masks" in c.value for c in at.caption)


def test_all_mask_text_gets_advice_that_can_help(app_env):
    at = _page(P2)
    at.text_area(key="mlm_text").set_value("[MASK] [MASK] [MASK]").run()
    page_ok(at)
    assert any("type some words" in i.value for i in at.info), [i.value for i in at.info]
    assert not any("raise the rate" in i.value for i in at.info)


def test_nsp_page_says_a_corpus_error_once(app_env):
    at = _page("pages/3_Next_sentence_prediction.py")
    at.radio(key="nsp_source").set_value("Your documents").run()
    at.text_area(key="nsp_corpus").set_value("One document. It has two sentences.").run()
    at.toggle(key="nsp_is_next").set_value(False).run()
    at.button(key="nsp_batch_go").click().run()
    page_ok(at)
    assert len(at.error) == 1 and "only one document" in at.error[0].value, [e.value for e in at.error]
    assert any("Same problem as above" in c.value for c in at.caption)


# ---- uploads over the cap ----------------------------------------------------------------------------

def test_the_upload_caps_agree():
    """The browser's cap (Streamlit's server.maxUploadSize) and the package's are one number."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["maxUploadSize"] == datasets.MAX_MB and datasets.MAX_BYTES == datasets.MAX_MB * 2**20


def test_upload_status_names_the_file_in_use_and_the_cap(app_env):
    at = _page(P5)
    at.radio(key="ft_source").set_value("Upload CSV/TSV").run()
    status = lambda: [c.value for c in at.caption if "Files of up to 10 MB" in c.value]  # noqa: E731
    assert status() and "In use" not in status()[0] and "never reaches the server" in status()[0]
    raw = csv_bytes([(f"sentence {i}", "ab"[i % 2]) for i in range(20)])
    at.file_uploader(key="ft_upload").set_value(("first.csv", raw, "text/csv")).run()
    page_ok(at)
    assert status()[0].startswith("In use: **first.csv**") and "leaves the file in use unchanged" in status()[0]
    # a file that slips past the browser's cap gets the package's message, and the page shows no data as current
    big = b"text,label\n" + b"x" * (datasets.MAX_BYTES + 1) + b",a\n"
    at.file_uploader(key="ft_upload").set_value(("big.csv", big, "text/csv")).run()
    page_ok(at)
    assert any("the limit is 10 MB" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("training and" in c.value for c in at.caption) and at.button(key="ft_start").disabled
