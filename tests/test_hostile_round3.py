"""Regression tests for the third hostile round (issue 26): CSV injection (3), the CLI's internal exceptions and late
failures (4) and the queue and state details (7). Items 1 and 2 (alias bombs, deep nesting) are in test_fuzz.py and
the browser test of hostile lesson links; item 5 (the Explanations page's cost) in test_bad_input_explain.py."""
from __future__ import annotations

import ast
import csv
import io
import json
import math
from pathlib import Path

import pytest

from bert_playground import PlaygroundError, cli
from bert_playground.core import csv_cells, jobs
from bert_playground.objectives import decoding

ROOT = Path(__file__).resolve().parent.parent
FORMULAS = ['=HYPERLINK("http://x","click")', "+1+2", "-2+3", "@SUM(A1:A2)", "\tcmd", "\r=1"]


# ---- 3: CSV injection ---------------------------------------------------------------------------------------------

def _read(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("value", FORMULAS)
def test_a_formula_cell_is_written_as_text(value):
    """OWASP's advice: a leading quote, so a spreadsheet shows the text and runs nothing; the text itself is kept."""
    (row,) = _read(csv_cells.write([{"label": value, "n": 3}]))
    assert row["label"] == "'" + value and row["n"] == "3"


def test_plain_cells_numbers_and_negative_numbers_are_unchanged():
    rows = [{"text": "a plain sentence", "score": -0.25, "count": 7, "nan": math.nan}]
    (row,) = _read(csv_cells.write(rows))
    assert row == {"text": "a plain sentence", "score": "-0.25", "count": "7", "nan": "nan"}


def test_a_table_download_neutralises_cells_and_column_names_but_not_the_table_shown():
    import pandas as pd

    df = pd.DataFrame({"=cmd": ["@SUM(1)", "fine"], "score": [-1.5, 2.0]})
    safe = csv_cells.frame(df)
    assert list(safe.columns) == ["'=cmd", "score"] and list(safe["'=cmd"]) == ["'@SUM(1)", "fine"]
    assert list(safe["score"]) == [-1.5, 2.0] and list(df.columns) == ["=cmd", "score"]  # the page's frame untouched
    assert df.iloc[0, 0] == "@SUM(1)"
    assert _read(csv_cells.frame_csv(df)) == [{"'=cmd": "'@SUM(1)", "score": "-1.5"}, {"'=cmd": "fine", "score": "2.0"}]


def test_a_carriage_return_inside_a_cell_stays_in_its_row():
    rows = [{"label": "a\rb", "text": "c\nd\r\ne"}, {"label": "x", "text": "y"}]
    assert _read(csv_cells.write(rows)) == rows


def test_the_fine_tuning_sheet_and_the_cloze_sheet_export_safe_csv():
    from bert_playground.checkpoints.compare import SheetResult
    from bert_playground.finetune.sheet import RunRecord, Sheet

    sheet = Sheet()
    sheet.records.append(RunRecord(1, "classify", '=HYPERLINK("x")', "@ckpt", "full", "", 1, 1.0, 2.0, "accuracy",
                                   0.5, 10, 4, "cpu", ""))
    (row,) = _read(sheet.to_csv())
    assert row["data"] == "'=HYPERLINK(\"x\")" and row["checkpoint"] == "'@ckpt" and row["score"] == "0.5"
    res = SheetResult(("m",), ({"sentence": "-1 is [MASK].", "answer": "+one", "m top-1": "=x"},))
    (row,) = _read(res.to_csv())
    assert row == {"sentence": "'-1 is [MASK].", "answer": "'+one", "m top-1": "'=x"}


def test_every_csv_the_app_writes_goes_through_csv_cells():
    """No other CSV writer in the package, the app's helpers or the pages (the pre-training log holds numbers and is
    written by the trainer, not from user text)."""
    allowed = {"bert_playground/core/csv_cells.py", "bert_playground/pretraining/model.py"}
    found = []
    for path in [*ROOT.glob("bert_playground/**/*.py"), *ROOT.glob("playground_ui/**/*.py"), *ROOT.glob("pages/*.py")]:
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter", "to_csv"):
                ok = rel in allowed or node.attr == "to_csv" and _through_csv_cells(path, node)
                if not ok:
                    found.append(f"{rel}:{node.lineno} {node.attr}")
    assert found == []


def _through_csv_cells(path: Path, node: ast.Attribute) -> bool:
    """`x.to_csv()` is fine where x is one of our own safe exporters or csv_cells.frame(...)."""
    line = path.read_text().splitlines()[node.lineno - 1]
    return "csv_cells.frame(" in line or "frame(df).to_csv" in line or "res.to_csv()" in line or "sheet().to_csv()" in line or "def to_csv" in line


# ---- 4: the CLI: one line and exit 2, before any work ---------------------------------------------------------------

def _cli(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    errors = [ln for ln in out.err.splitlines() if ln.startswith("error:")]
    return code, errors, out.err


@pytest.fixture
def no_model(monkeypatch):
    """Loading a checkpoint fails the test: the refusal must come before any model work."""
    import bert_playground
    from bert_playground.checkpoints import models

    def boom(*a, **k):
        raise AssertionError("a model was loaded before the bad argument was refused")

    for where, name in ((bert_playground, "load"), (models, "load")):
        if hasattr(where, name):
            monkeypatch.setattr(where, name, boom)


@pytest.mark.parametrize("argv, said", [
    (["fill", "\udcff\udcfe [MASK]."], "not valid UTF-8"),
    (["represent", "\udcff\udcfe"], "not valid UTF-8"),
])
def test_invalid_utf8_arguments_are_refused_in_one_line(argv, said, capsys, no_model):
    code, errors, err = _cli(argv, capsys)
    assert code == 2 and len(errors) == 1 and said in errors[0] and "Traceback" not in err


def test_finetune_refuses_an_unwritable_save_path_before_training(tmp_path, tiny_dir, capsys, no_model):
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    for save, said in ((existing, "is an existing file"), ("/proc/nope/x", "cannot be written")):
        code, errors, _ = _cli(["finetune", "--model", str(tiny_dir), "--train", str(ROOT / "assets/finetune/train.csv"),
                                "--save", str(save), "--epochs", "1"], capsys)
        assert code == 2 and len(errors) == 1 and said in errors[0], errors
    assert existing.read_text() == "keep me"


@pytest.mark.parametrize("corpus, said", [
    ("/nonexistent/corpus.txt", "No corpus file matches"),
    ("DIR", "is a folder"),
    ("a\x00b", "NUL character"),
])
def test_pretrain_checks_the_corpus_before_the_model(corpus, said, tmp_path, capsys, no_model):
    corpus = str(tmp_path) if corpus == "DIR" else corpus
    code, errors, _ = _cli(["pretrain", "--init", "scratch", "--corpus", corpus, "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and len(errors) == 1 and said in errors[0] and "minilm" not in errors[0], errors


def test_a_model_path_that_is_a_file_is_called_a_file(tmp_path, capsys):
    f = tmp_path / "config.json"
    f.write_text("{}")
    code, errors, _ = _cli(["fill", "a [MASK].", "--model", str(f)], capsys)
    assert code == 2 and len(errors) == 1 and "is a file, not a checkpoint folder" in errors[0]


def test_custom_code_in_a_config_is_ignored_with_a_notice(tmp_path, tiny_dir, capsys):
    import shutil

    folder = shutil.copytree(tiny_dir, tmp_path / "remote-code")
    cfg = json.loads((folder / "config.json").read_text())
    cfg["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(cfg))
    code, _, err = _cli(["fill", "a [MASK].", "--model", str(folder)], capsys)
    assert code == 0 and "note:" in err and "ignored, never run" in err


def test_a_deeply_nested_squad_file_is_refused_in_one_line(tmp_path, tiny_dir, capsys, no_model):
    deep = tmp_path / "deep.json"
    deep.write_text('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, errors, err = _cli(["finetune", "--task", "qa", "--train", str(deep), "--model", str(tiny_dir)], capsys)
    assert code == 2 and len(errors) == 1 and "RecursionError" not in err and "Traceback" not in err


# ---- 7: queue and state details ---------------------------------------------------------------------------------

def _ticker(stop):
    while not stop.wait(0.02):
        yield {"tick": 1}


def test_a_stopped_queued_run_is_stopped_not_failed():
    """The page shows a stopped run as a fact (st.info), not a red error: `stopped` says it was on purpose."""
    reg = jobs.Registry(max_jobs=1)
    running = reg.submit(jobs.Job(_ticker, "a"), owner="s")
    queued = reg.submit(jobs.Job(_ticker, "b"), owner="s")
    reg.cancel(queued)
    assert queued.done and queued.stopped and "before it started" in queued.error and queued.started is None
    reg.cancel(running)
    assert running.wait(5) and running.stopped


def test_the_seed_box_says_when_a_seed_is_out_of_range(app_env):
    from apphelp import run

    at = run("pages/2_Masked_LM.py")
    for seed in (2**40, -5):  # (AppTest carries a widget's value as a 64-bit integer: a larger one arrives as 0)
        at.number_input(key="mlm_seed").set_value(seed).run()
        assert not at.exception and at.number_input(key="mlm_seed").value == seed  # what was typed stays
        assert any("The seed must be a whole number from 0 to 2,147,483,647" in w.value and f"{seed:,}" in w.value
                   for w in at.warning)


def test_a_candidate_that_does_not_fit_is_named_as_typed(tiny):
    """With the text filling the model's length, the message names the user's own candidate and says what happened
    (it used to name the word the 10% random-token branch had put in, which the user never typed)."""
    from bert_playground.inputs.text import max_length

    text = "a " * (max_length(tiny) - 3) + tiny.tokenizer.mask_token  # [CLS] + n-3 words + [MASK] + [SEP]: full
    word = "zxqvjk"
    assert len(tiny.tokenizer.tokenize(word)) > 1
    with pytest.raises(PlaygroundError) as err:
        decoding.score_candidates(tiny, text, [word])
    msg = str(err.value)
    assert f"'{word}'" in msg and "does not fit" in msg and "Shorten the text" in msg
