import json
import os
import subprocess
import sys

import pytest

from apphelp import ROOT


def cli(*args, env_model=None):
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_THREADS="1")
    if env_model:
        env["BERT_PLAYGROUND_MODEL"] = str(env_model)
    return subprocess.run([sys.executable, "-m", "bert_playground", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_represent_json(tiny_dir):
    r = cli("represent", "Hello there", "unaffable friend", "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == str(tiny_dir)
    assert out["rows"][0] == {"index": 0, "token": "[CLS]", "token_id": 101, "segment": 0, "position": 0}
    assert [x["segment"] for x in out["rows"]] == [0, 0, 0, 0, 1, 1, 1, 1, 1]
    assert set(out["rows"][5]) == {"index", "token", "token_id", "segment", "position"}


def test_represent_text_output_uses_env_model(tiny_dir):
    r = cli("represent", "Hello", env_model=tiny_dir)
    assert r.returncode == 0 and "hello" in r.stdout


@pytest.mark.parametrize("args, message", [
    (["represent", "   "], "empty"),
    (["represent", "hi", "--model", "/no/such/folder"], "does not exist"),
    (["represent", "hi", "--model", "bert-base-uncased"], "Hub cannot be reached"),
    (["represent"], "error:"),
    (["no-such-command"], "error:"),
])
def test_errors_are_one_line_and_nonzero(tiny_dir, args, message):
    r = cli(*args, env_model=tiny_dir)
    assert r.returncode != 0
    assert message in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_command_table_names_every_command_and_its_functions():
    """Every command is reachable from COMMANDS (no lookups by name): a reader can follow the table."""
    from bert_playground import cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(cli.COMMANDS)
    for name, command in cli.COMMANDS.items():
        assert command.add.__name__ == f"add_{name}" and command.run.__name__ == f"run_{name}"
        assert command.text is None or command.text.__name__ == f"text_{name}"
        assert command.add.__module__ == command.run.__module__  # a command's functions live together
    assert all("globals()" not in p.read_text() for p in (ROOT / "bert_playground" / "cli").glob("*.py"))


def test_defaults_and_choices_come_from_the_package():
    import dataclasses

    from bert_playground import cli, finetune
    from bert_playground.objectives import masking
    from bert_playground.pretraining import pretrain

    def parsed(*argv):
        return vars(cli.build_parser().parse_args(list(argv)))

    def defaults(cls):
        return {f.name: f.default for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}

    pre = parsed("pretrain", "--corpus", "c", "--out", "o")
    assert {k: v for k, v in defaults(pretrain.PretrainConfig).items() if k in pre} == \
        {k: pre[k] for k in defaults(pretrain.PretrainConfig) if k in pre}
    assert len([k for k in defaults(pretrain.PretrainConfig) if k in pre]) >= 20
    ft = parsed("finetune", "--train", "t.csv")
    assert all(ft[k] == v for k, v in defaults(finetune.FinetuneConfig).items() if k in ft)
    assert parsed("mask", "x")["rate"] == masking.MaskingConfig().rate
    choices = {a.dest: a.choices for p in cli.build_parser()._subparsers._group_actions[0].choices.values()
               for a in p._actions if a.choices}
    assert tuple(choices["precision"]) == pretrain.PRECISIONS and tuple(choices["save_dtype"]) == pretrain.SAVE_DTYPES
    assert tuple(choices["mode"]) == finetune.MODES


@pytest.mark.parametrize("argv", [["--seq-len", "513"], ["--precision", "fp8"], ["--save-dtype", "int8"]])
def test_pretrain_bad_settings_one_line_exit_2(tmp_path, argv):
    r = cli("pretrain", "--corpus", str(tmp_path / "none.txt"), "--out", str(tmp_path / "out"), *argv)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error:"), r.stderr


def test_classify_inputs(tmp_path):
    from bert_playground import PlaygroundError
    from bert_playground.datasets import classify_inputs

    assert classify_inputs(["a", "b"], None, False) == (["a", "b"], None)
    assert classify_inputs(["a\tb"], None, True) == (["a"], ["b"])
    txt = tmp_path / "in.txt"
    txt.write_text("one\n\n  \ntwo\n", encoding="utf-8")
    assert classify_inputs(["typed"], str(txt), False) == (["typed", "one", "two"], None)
    csv = tmp_path / "in.csv"
    csv.write_text("premise,hypothesis,label\nA1,B1,x\nA2,B2,y\n", encoding="utf-8")
    assert classify_inputs([], str(csv), True) == (["A1", "A2"], ["B1", "B2"])  # guessed columns
    assert classify_inputs([], str(csv), False, {"text": "hypothesis"}) == (["B1", "B2"], None)  # saved columns
    for args, message in [(([], None, False), "at least one"), ((["no tab"], None, True), "sentence A<TAB>"),
                          (([], str(tmp_path / "missing.txt"), False), "does not exist")]:
        with pytest.raises(PlaygroundError, match=message):
            classify_inputs(*args)
    single = tmp_path / "single.csv"
    single.write_text("text,label\nhello,x\n", encoding="utf-8")
    with pytest.raises(PlaygroundError, match="second-sentence column"):
        classify_inputs([], str(single), True)
