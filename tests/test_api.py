"""The public API (`bert_playground.api`) and the figures a notebook draws: each result's `to_dict()` is the CLI's
`--json` on the same input, the figures come without Streamlit, and the example notebook runs top to bottom."""
import contextlib
import io
import json
import subprocess
import sys

import pytest

from apphelp import ROOT
from bert_playground import api, cli, figures

A, B = "The cat sat on the mat.", "It purred."


def cli_json(*argv) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main([*argv, "--json"]) == 0
    return json.loads(out.getvalue())


@pytest.mark.parametrize("name, call, argv", [
    ("represent", lambda b: api.represent(b, A, B), ["represent", A, B]),
    ("mask", lambda b: api.mask(b, A, rate=0.5, seed=3), ["mask", A, "--rate", "0.5", "--seed", "3"]),
    ("fill", lambda b: api.fill(b, "The cat sat on the [MASK].", 3), ["fill", "The cat sat on the [MASK].", "--top-k", "3"]),
    ("sides", lambda b: api.sides(b, "The cat sat on the [MASK] today.", 3),
     ["sides", "The cat sat on the [MASK] today.", "--top-k", "3"]),
    ("nsp", lambda b: api.nsp(b, A, B), ["nsp", A, B]),
    ("attention", lambda b: api.attention(b, A, B), ["attention", A, B]),
    ("context", lambda b: api.context(b, "bank", ["I sat on the bank.", "The bank was closed."], ["river", "money"]),
     ["context", "bank", "river | I sat on the bank.", "money | The bank was closed."]),
    ("explain", lambda b: api.explain(b, "The cat sat on the [MASK].", steps=4, k_max=3),
     ["attribute", "The cat sat on the [MASK].", "--steps", "4", "--k", "3"]),
])
def test_every_result_to_dict_is_the_cli_json(tiny, tiny_dir, name, call, argv):
    mine = json.loads(json.dumps(call(tiny).to_dict()))  # through JSON, as the CLI prints it
    assert mine == cli_json(*argv, "--model", str(tiny_dir)), name


def test_fine_tuning_and_predictions_match_the_cli(tiny, tiny_dir, tmp_path):
    from bert_playground import datasets

    train, test = (d.head(40) for d in datasets.shipped())
    result = api.finetune(tiny, train, test, mode="frozen", epochs=1, seed=1)
    mine = result.to_dict()
    assert mine["task"] == "classify" and set(mine) >= {"accuracy", "macro_f1", "labels", "steps", "config"}
    folder = tmp_path / "clf"
    from bert_playground import finetune

    finetune.save(result, folder)
    preds = api.predict(str(folder), ["Where is my parcel?"])
    out = cli_json("classify", "--model", str(folder), "Where is my parcel?")
    assert out["predictions"][0] == {"text": "Where is my parcel?", **preds[0].to_dict()}
    assert [p.label for p in api.predict(result, ["Where is my parcel?"])] == [preds[0].label]


def test_result_figures_are_the_pages_figures(tiny):
    res = api.fill(tiny, "The cat sat on the [MASK].", 3)
    fig = figures.fill_bars(res)
    assert list(fig.data[0].y or fig.data[0].x) and len(fig.data[0].x) == 3
    maps = api.attention(tiny, A, B)
    heat = figures.attention_map(maps, layer=0, head=1).data[0]
    import numpy as np

    assert np.allclose(np.asarray(heat.z, dtype=float), maps.attentions[0, 1], atol=1e-6)
    assert figures.attention_heads(maps).data and figures.nsp_gauge(api.nsp(tiny, A, B)).data
    rep = api.represent(tiny, A, B)
    drawn = [a.text for a in figures.input_diagram(rep).layout.annotations]  # the input diagram: boxes and labels
    assert all(t in drawn for t in rep.encoding.tokens[:5])


def test_the_api_and_its_figures_never_import_streamlit():
    code = ("import sys, bert_playground\nfrom bert_playground import api, figures\n"
            "from bert_playground.figures import attention, mlm, nsp, explain, contextual, representation\n"
            "assert 'streamlit' not in sys.modules, 'streamlit imported'\nprint('ok')")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-500:]


@pytest.mark.slow
def test_the_example_notebook_runs_top_to_bottom():
    """examples/bert_playground_tour.ipynb on the embedded checkpoint, offline, as a learner runs it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "examples" / "bert_playground_tour.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # outputs are not committed
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = json.dumps([o for c in nb.cells if c.cell_type == "code" for o in c.outputs])
    assert "accuracy" in text and "paris" in text.lower()


def test_every_figure_has_a_sentence_computed_from_its_data(tiny):
    from bert_playground.figures.describe import describe

    maps = api.attention(tiny, A, B)
    heat = figures.attention_map(maps, layer=0, head=1)
    r, c = divmod(int(maps.attentions[0, 1].argmax()), maps.length)
    text = describe(heat)
    assert text.startswith("Attention, layer 1, head 2:") and f"{maps.attentions[0, 1].max():.3g}" in text
    res = api.fill(tiny, "The cat sat on the [MASK].", 3)
    assert f"the highest {res.masks[0].predictions[0].token}" in describe(figures.fill_bars(res))
    assert "value" in describe(figures.nsp_gauge(api.nsp(tiny, A, B)))
