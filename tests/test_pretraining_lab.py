"""The Pre-training lab: a recipe becomes the run it says, the lab runs stream their events, recipes are compared
across seeds; the page starts a run and draws it."""
import threading
import time

import pytest

from apphelp import plotly_specs, run
from bert_playground import PlaygroundError
from bert_playground.pretraining import lab


def test_a_recipe_is_the_run_it_says(tmp_path):
    r = lab.Recipe(preset="tiny", layers=1, seconds=30, mask_rate=0.3, mask_split=(1.0, 0.0, 0.0), static_masking=4,
                   whole_word=True, pair_task="sop", corpus_share=0.5)
    cfg = r.check().config(tmp_path)
    assert (cfg.mask_rate, cfg.mask_split, cfg.static_masking, cfg.whole_word, cfg.pair_task) == (0.3, (1.0, 0.0, 0.0), 4, True, "sop")
    assert cfg.init == "scratch" and cfg.eval_corpus.endswith("wikipedia_lab_heldout.txt.xz") and cfg.max_seconds == 30
    assert r.size()["num_hidden_layers"] == 1 and r.size()["hidden_size"] == 64


@pytest.mark.parametrize("kw, message", [(dict(preset="minilm"), "presets"), (dict(hidden=100, heads=3), "multiple"),
                                         (dict(seconds=5), "time limit"), (dict(layers=20), "layers")])
def test_bad_recipes_are_refused(kw, message):
    with pytest.raises(PlaygroundError, match=message):
        lab.Recipe(**kw).check()


def test_the_server_cap_on_time(monkeypatch):
    monkeypatch.setenv(lab.ENV_MAX_SECONDS, "60")
    with pytest.raises(PlaygroundError, match="10 to 60"):
        lab.Recipe(seconds=120).check()


def test_a_lab_run_streams_snapshots_then_its_result(tmp_path):
    events = list(lab.run(lab.Recipe(seconds=12, corpus_share=0.05, probes=lab.PROBES[:1]), threading.Event(), tmp_path))
    snaps = [e for e in events if e.get("event") == "snapshot"]
    done = events[-1]
    assert done["event"] == "done" and snaps and snaps[0]["step"] == 0
    assert snaps[0]["attention"][1].ndim == 4  # (L, H, T, T) of the first probe
    res = done["result"]
    assert res["recipe"]["pair_task"] == "nsp" and 0 <= res["unigram_baseline_accuracy"] <= 1
    assert res["run_seconds"] <= 12 + 10  # the time limit includes the last evaluation (and the start)


def test_stop_ends_a_run_early(tmp_path):
    stop = threading.Event()
    t0 = time.time()
    for ev in lab.run(lab.Recipe(seconds=120, corpus_share=0.05), stop, tmp_path):
        if ev.get("event") == "snapshot":
            stop.set()
    assert time.time() - t0 < 60


def test_summaries_and_verdicts():
    rs = [{"eval_mlm_accuracy": a, "eval_nsp_accuracy": 0.6, "unigram_baseline_accuracy": 0.05} for a in (0.20, 0.21, 0.22)]
    far = [{**r, "eval_mlm_accuracy": r["eval_mlm_accuracy"] + 0.1} for r in rs]
    a, b, near = lab.summarise("a", rs), lab.summarise("b", far), lab.summarise("c", [dict(r) for r in rs])
    assert a.mlm_mean == pytest.approx(0.21) and a.mlm_spread == pytest.approx(0.01)
    assert "more than twice" in lab.verdict(a, b) and "chance" in lab.verdict(a, near)
    assert "one run each" in lab.verdict(lab.summarise("x", rs[:1]), lab.summarise("y", far[:1]))


def test_the_page_runs_a_recipe_and_draws_it(app_env):
    at = run("pages/12_Pretraining_lab.py", query={"seconds": "12", "share": "5"})
    at.button(key="pl_start_Pre").click().run()
    for _ in range(120):
        if at.session_state["pl_job"].done:
            break
        time.sleep(0.5)
    at.run()
    assert not at.exception and at.session_state["pl_job"].error is None
    titles = [str(s["layout"].get("title")) for s in plotly_specs(at)]
    assert any("Held-out masked-LM accuracy" in t for t in titles)
    assert len(at.session_state["pl_runs"]) == 1
