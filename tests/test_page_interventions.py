"""The Interventions page under AppTest: what it draws is what the package computes."""
import time

import numpy as np

import pytest

from apphelp import plotly_specs, run, z_of
from bert_playground.interpret import interventions

PAGE = "pages/10_Interventions.py"
TEXT = "The capital of France is [MASK]."


def _bars(at, title_part):
    spec = next(s for s in plotly_specs(at) if title_part in str(s["layout"].get("title")))
    return dict(zip(spec["data"][0]["y"], spec["data"][0]["x"]))  # horizontal bars: tokens on y


def test_a_link_naming_a_head_draws_before_and_after(app_env, tiny):
    at = run(PAGE, query={"heads": "0.1", "text": TEXT})
    assert at.multiselect(key="iv_heads_pick").value == ["0.1"]
    ref = interventions.ablate(tiny, TEXT, heads="0.1")
    after = _bars(at, "After")
    assert after == pytest.approx({p.token: p.probability for p in ref.after.masks[0].predictions}, abs=1e-6)
    assert _bars(at, "Before") == pytest.approx({p.token: p.probability for p in ref.before.masks[0].predictions}, abs=1e-6)


def test_bad_inputs_keep_the_text_and_say_why(app_env):
    at = run(PAGE, query={"heads": "0.0", "text": "No mask in this text."})
    assert any("Put a [MASK]" in e.value.replace("\\", "") for e in at.error)
    assert at.text_area(key="iv_text").value == "No mask in this text."
    at.radio(key="iv_tab").set_value("Activation patching").run()
    at.text_input(key="iv_corrupted").set_value("A much longer corrupted text about Italy is [MASK].").run()
    assert any("same number of tokens" in e.value.replace("\\", "") for e in at.error)
    assert at.text_input(key="iv_corrupted").value.startswith("A much longer")


def test_patching_and_lens_tabs_draw_the_package_results(app_env, tiny):
    at = run(PAGE, query={"tab": "Activation patching"})
    ref = interventions.patch(tiny, "The capital of France is [MASK].", "The capital of Italy is [MASK].")
    grid = next(s for s in plotly_specs(at) if "Hidden states patched" in str(s["layout"]["title"]))
    assert np.allclose(z_of(grid), ref.grid, atol=1e-6)
    at.radio(key="iv_tab").set_value("Logit lens").run()
    assert not at.exception
    lens = interventions.logit_lens(tiny, TEXT, 5)
    df = at.dataframe[0].value
    assert list(df["Rank of the answer"]) == [r["answer_rank"] for r in lens.masks[0]["layers"]]


def test_importance_runs_as_a_job_and_draws_the_pruning_curve(app_env):
    at = run(PAGE, query={"tab": "Head importance", "sentences": "10"})
    at.button(key="iv_run").click().run()
    for _ in range(120):
        job = at.session_state["iv_job"]
        if job.done:
            break
        time.sleep(0.5)
    at.run()
    assert not at.exception and job.error is None
    titles = [str(s["layout"].get("title")) for s in plotly_specs(at)]
    assert any("Head importance" in t for t in titles) and any("Pruning heads" in t for t in titles)
