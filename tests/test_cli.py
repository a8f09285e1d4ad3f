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
