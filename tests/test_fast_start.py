"""A fast cold start (issue 20, section 3): the home page reads what it shows from config.json and the safetensors
headers (`checkpoint.quick_info`, no torch) with the same folder rules as loading, and the model loads in the
background (`ui.preload`) into the very cache the model pages read: once, never half-loaded."""
import dataclasses
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bert_playground import load
from bert_playground.checkpoints import folders as checkpoint
from bert_playground.checkpoints import models
from bert_playground.core.errors import CheckpointError
from playground_ui import ui

from apphelp import ROOT, run


def _loaded_info(name: str) -> checkpoint.CheckpointInfo:
    return dataclasses.replace(load(name, "cpu").info, parameters=0)  # parameters are counted on the loaded model


def test_quick_info_is_what_loading_says_for_every_family(family_dirs, encoder_only_dir):
    names = [str(d) for d in family_dirs.values()] + [str(encoder_only_dir), "embedded"]
    for name in names:
        assert checkpoint.quick_info(name) == _loaded_info(name), name


def test_quick_info_leaves_a_config_without_its_sizes_to_the_loaded_model(tmp_path, tiny_dir):
    folder = shutil.copytree(tiny_dir, tmp_path / "terse")
    raw = json.loads((folder / "config.json").read_text())
    del raw["max_position_embeddings"]  # transformers' BertConfig default (512) fills it in when loading
    (folder / "config.json").write_text(json.dumps(raw))
    assert checkpoint.quick_info(str(folder)) is None
    assert load(str(folder), "cpu").info.max_length == 512


def _bad_folders(tmp_path, tiny_dir):
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text('{"model_type": "bert"}')
    (pickled / "pytorch_model.bin").write_bytes(b"x")
    no_tok = shutil.copytree(tiny_dir, tmp_path / "no-tokenizer", ignore=shutil.ignore_patterns("tokenizer*", "vocab*"))
    gpt = shutil.copytree(tiny_dir, tmp_path / "gpt2-like")
    (gpt / "config.json").write_text('{"model_type": "gpt2", "n_layer": 2}')
    remote = shutil.copytree(tiny_dir, tmp_path / "remote")
    (remote / "config.json").write_text('{"model_type": "mystery", "auto_map": {"AutoModel": "x.Y"}}')
    broken = shutil.copytree(tiny_dir, tmp_path / "broken-weights")
    (broken / "model.safetensors").write_bytes(b"not a safetensors file at all")
    not_json = shutil.copytree(tiny_dir, tmp_path / "not-json")
    (not_json / "config.json").write_text("[1, 2]")
    return [str(tmp_path / "nothing"), "a/b/c/d", "bad id with spaces", str(pickled), str(no_tok), str(gpt),
            str(remote), str(broken), str(not_json), "x" * 2000]


def test_quick_info_refuses_what_load_refuses_with_the_same_message(tmp_path, tiny_dir):
    for bad in _bad_folders(tmp_path, tiny_dir):
        with pytest.raises(CheckpointError) as quick:
            checkpoint.quick_info(bad)
        with pytest.raises(CheckpointError) as real:
            load(bad, "cpu")
        assert str(quick.value) == str(real.value), bad


def test_quick_info_keeps_the_shared_server_rules(tmp_path, tiny_dir, monkeypatch):
    root = tmp_path / "root"
    shutil.copytree(tiny_dir, root / "mine")
    monkeypatch.setenv(checkpoint.ENV_ROOT, str(root))
    assert checkpoint.quick_info("mine", shared=True).path == str((root / "mine").resolve())
    for outside in (str(tiny_dir), "../root/mine/../../x", "~/x"):
        with pytest.raises(CheckpointError, match="shared") as quick:
            checkpoint.quick_info(outside, shared=True)
        with pytest.raises(CheckpointError) as real:
            models.load(outside, "cpu", shared=True)
        assert str(quick.value) == str(real.value)
    with pytest.raises(CheckpointError, match="classroom mode"):
        checkpoint.quick_info("embedded", allowed=["bert-base-uncased"])
    assert checkpoint.quick_info("nobody-xyz/no-such-model-4242") is None  # a Hub id not in the cache: load says


def test_models_reuses_the_checkpoint_rules_instead_of_copying_them():
    """One implementation: models' folder rules are the checkpoint module's functions, not copies."""
    for name in ("resolve", "cache_key", "check_folder", "check_model_type", "read_config", "weight_keys",
                 "allowed_models", "default_name", "has_tokenizer", "checkpoint_root", "CheckpointInfo"):
        assert getattr(models, name) is getattr(checkpoint, name), name
    source = (ROOT / "bert_playground" / "checkpoints" / "models.py").read_text()
    for private in ("def _below_root", "def _shared_path", "def _looks_like_path", "def _check_folder", "safe_open"):
        assert private not in source


def _home_imports() -> list[str]:
    """The modules app.py imports (its whole module chain follows from them)."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text())
    mods = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            mods += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods += [f"{node.module}.{a.name}" if node.module == "playground_ui" else node.module for a in node.names]
    return mods


HEAVY = ("torch", "transformers", "tokenizers", "numpy", "safetensors")  # numpy alone: ~0.2 s of a cold start


def test_importing_the_home_page_imports_no_torch():
    mods = _home_imports()
    assert "playground_ui.ui" in mods and "bert_playground.pretraining.training_log" in mods
    code = (f"import importlib, sys; [importlib.import_module(m) for m in {mods!r}]; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_home_page_renders_without_torch(tmp_path):
    """The whole home page runs (AppTest) with the background load held back: torch is never imported."""
    code = ("import os, sys\n"
            "from streamlit.testing.v1 import AppTest\n"
            "from playground_ui import ui\n"
            "ui.preload = lambda name: None\n"
            "at = AppTest.from_file('app.py', default_timeout=120)\n"
            "at.run()\n"
            "assert not at.exception, [e.value for e in at.exception]\n"
            "print(' '.join(str(m.value) for m in at.metric))\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n")
    env = {**__import__("os").environ, "BERT_PLAYGROUND_MODEL": "embedded", "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    metrics, heavy = out.stdout.strip().splitlines()[-2:]
    assert "embedded" in metrics and "CPU" in metrics
    assert heavy == "[]"


def test_home_page_draws_from_config_and_starts_the_background_load(app_env, monkeypatch):
    started = []
    monkeypatch.setattr(ui, "preload", started.append)  # never loads
    at = run("app.py")
    text = " ".join(str(m.value) for m in at.metric) + " ".join(c.value for c in at.caption)
    assert str(app_env) in text and "2 layers × 4 heads, hidden size 32" in text  # from config.json
    assert started == [str(app_env)]
    assert any("Device: CPU" in i.value for i in at.sidebar.info)


def test_home_page_says_why_a_checkpoint_is_refused_without_loading(monkeypatch, app_env, tmp_path):
    started = []
    monkeypatch.setattr(ui, "preload", started.append)
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(tmp_path / "nothing"))
    at = run("app.py")
    assert any("does not exist" in e.value for e in at.error)
    assert started == [] and "none loaded" in " ".join(str(m.value) for m in at.metric)


@pytest.fixture
def counted_loads(monkeypatch):
    """models.load, slowed down and counted: a page that asks while it runs must wait for it, not load again."""
    calls, real = [], models.load

    def slow(*a, **k):
        calls.append(a[0])
        time.sleep(0.5)
        return real(*a, **k)

    monkeypatch.setattr(models, "load", slow)
    ui._loaded.clear()
    ui._PRELOADS.clear()
    yield calls
    ui._loaded.clear()
    ui._PRELOADS.clear()


def test_the_background_load_fills_the_pages_cache_once(tmp_path, tiny_dir, counted_loads):
    name = str(shutil.copytree(tiny_dir, tmp_path / "bg"))
    ui.preload(name)
    ui.preload(name)  # a second home render: no second load
    got = []
    pages = [threading.Thread(target=lambda: got.append(ui.cached_bundle(name, "cpu"))) for _ in range(4)]
    for t in pages:  # model pages opened while it loads wait for it (under the cache's spinner)
        t.start()
    for t in pages:
        t.join(timeout=120)
    assert len(got) == 4 and all(b is got[0] for b in got)  # one Bundle, whole (never half-loaded)
    assert counted_loads == [name]
    assert ui.preloaded_device(name) == "cpu" and not ui.loading(name)
    assert ui.cached_bundle(f"{name}/", "cpu") is got[0]  # another spelling of the same folder: the same entry
    assert counted_loads == [name]


def test_a_failed_background_load_is_said_on_the_model_page(tmp_path, tiny_dir, counted_loads):
    folder = shutil.copytree(tiny_dir, tmp_path / "unfit")
    raw = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**raw, "model_type": "roberta"}))  # BERT weights, RoBERTa label
    ui.preload(str(folder))
    deadline = time.time() + 120
    while ui.loading(str(folder)) and time.time() < deadline:
        time.sleep(0.1)
    assert ui.preloaded_device(str(folder)) is None
    with pytest.raises(CheckpointError, match="weights do not fit"):
        ui.cached_bundle(str(folder), "cpu")


def test_first_model_page_takes_the_preloaded_model(app_env, counted_loads):
    at = run("app.py")  # starts the background load
    page = run("pages/1_Input_representation.py")  # waits for it, then draws
    assert not page.exception and counted_loads == [str(app_env)]
    assert ui.preloaded_device(str(app_env)) == "cpu"
    run("app.py")
    assert counted_loads == [str(app_env)]
    assert at.metric


# ---- the Masked-LM page: a new seed reuses the 1,000-draw statistics and their figures ---------------------------

def test_a_new_seed_reuses_the_statistics_and_their_figures(app_env, monkeypatch):
    from bert_playground.objectives import masking
    from bert_playground.figures import explain as xcharts
    from bert_playground.figures import mlm as mlm_charts

    from apphelp import plotly_specs

    calls = []

    def spy(module, name):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, **k: calls.append(name) or real(*a, **k))

    for module, name in ((masking, "sample_statistics"), (mlm_charts, "stats_chart"),
                         (mlm_charts, "draws_histogram"), (xcharts, "sides")):
        spy(module, name)
    at = run("pages/2_Masked_LM.py")
    at.text_area(key="mlm_text").set_value("A text only this test uses: the statistics are cached per text.").run()
    before, figures = list(calls), [f for f in plotly_specs(at) if "Observed shares" in json.dumps(f)]
    assert {"sample_statistics", "stats_chart", "draws_histogram"} <= set(before) and figures
    for seed in (5, 6):
        at.number_input(key="mlm_seed").set_value(seed).run()
        assert not at.exception
    assert calls == before  # new seeds: no new 1,000-draw run, no figure rebuilt
    assert [f for f in plotly_specs(at) if "Observed shares" in json.dumps(f)] == figures
    at.slider(key="mlm_rate").set_value(0.3).run()
    assert calls[len(before):].count("sample_statistics") == 1 and "stats_chart" in calls[len(before):]


def test_safetensors_header_reads_what_safetensors_reads(family_dirs, tiny_dir, tmp_path):
    """The home page's plain-Python header reader gives safetensors' own names and dtypes; bad files are refused."""
    from safetensors import safe_open

    for folder in [tiny_dir, *family_dirs.values()]:
        for f in sorted(Path(folder).glob("*.safetensors")):
            header = checkpoint.safetensors_header(str(f))
            with safe_open(str(f), framework="numpy") as st:
                assert {k for k in header if k != "__metadata__"} == set(st.keys())
                for k in st.keys():
                    assert header[k]["dtype"] == st.get_slice(k).get_dtype()
                    assert header[k]["shape"] == list(st.get_slice(k).get_shape())
    good = next(Path(tiny_dir).glob("*.safetensors")).read_bytes()
    n = int.from_bytes(good[:8], "little")
    bad = {"empty": b"", "short": b"\x05\x00", "too long": (10**12).to_bytes(8, "little") + b"{}",
           "not json": (5).to_bytes(8, "little") + b"hello", "a list": (2).to_bytes(8, "little") + b"[]",
           "truncated": good[: 8 + n + 10]}
    for name, data in bad.items():
        (tmp_path / f"{name}.safetensors").write_bytes(data)
        with pytest.raises(ValueError):
            checkpoint.safetensors_header(str(tmp_path / f"{name}.safetensors"))
