"""CLI: attribute, neuron, sides, and fill --joint / --candidates (in-process main(), as test_bad_input does)."""
import json

import pytest

from bert_playground.cli import main
from bert_playground.interpret import attribution as A
from bert_playground.interpret.neuron import neuron_view
from bert_playground.objectives.decoding import joint_fill, score_candidates, sides
from bert_playground.objectives.mlm import fill

TEXT = "the cat sat on the [MASK] and looked at the [MASK] ."


def run(capsys, *argv):
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse's errors
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_fill_without_the_new_flags_is_unchanged(capsys, tiny, tiny_dir):
    rc, out, _ = run(capsys, "fill", TEXT, "--model", str(tiny_dir), "--json")
    assert rc == 0 and json.loads(out) == json.loads(json.dumps(fill(tiny, TEXT, 5).to_dict()))
    assert list(json.loads(out)) == ["model", "tokens", "masks"]


def test_fill_joint_and_candidates(capsys, tiny, tiny_dir):
    rc, out, _ = run(capsys, "fill", TEXT, "--model", str(tiny_dir), "--json", "--joint")
    res = json.loads(out)
    assert rc == 0 and list(res) == ["model", "tokens", "masks", "joint"]
    assert res["joint"] == joint_fill(tiny, TEXT).to_dict() and list(res["joint"]) == ["order", "tokens", "filled"]
    rc, out, _ = run(capsys, "fill", TEXT, "--model", str(tiny_dir), "--json", "--joint", "--order", "left-to-right",
                     "--candidates", "mat,unaffable")
    res = json.loads(out)
    assert res["joint"] == joint_fill(tiny, TEXT, "left-to-right").to_dict()
    assert res["candidates"] == [c.to_dict() for c in score_candidates(tiny, TEXT, "mat,unaffable")]
    assert all(list(c) == ["word", "pieces", "pll"] for c in res["candidates"])
    rc, out, _ = run(capsys, "fill", TEXT, "--model", str(tiny_dir), "--joint", "--candidates", "mat")
    assert rc == 0 and "joint:" in out and "candidate mat" in out


def test_attribute_json_fields(capsys, tiny, tiny_dir):
    rc, out, err = run(capsys, "attribute", TEXT, "--model", str(tiny_dir), "--steps", "8", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert list(res) == ["target", "prediction", "probability", "tokens", "scores", "ig_delta", "deletion"]
    assert list(res["scores"]) == ["attention", "rollout", "grad_x_input", "integrated_gradients"]
    assert list(res["deletion"]) == ["k", "attention", "rollout", "integrated_gradients", "random"]
    t = A.mask_target(tiny, TEXT)
    assert res["target"] == "mask" and res["prediction"] == t.prediction and res["tokens"] == list(t.tokens)
    assert res["probability"] == pytest.approx(t.probability, abs=1e-6)
    assert res["scores"]["integrated_gradients"] == pytest.approx(
        A.integrated_gradients(t, "mask", 8).scores.tolist(), abs=1e-6)
    assert len(res["deletion"]["k"]) == len(res["deletion"]["random"]) == min(10, len(t.candidates))


def test_attribute_nsp_and_text(capsys, tiny_dir):
    rc, out, _ = run(capsys, "attribute", "the cat sat .", "it slept .", "--target", "nsp", "--steps", "4",
                     "--baseline", "zero", "--model", str(tiny_dir), "--json")
    res = json.loads(out)
    assert rc == 0 and res["target"] == "nsp" and res["prediction"] in ("IsNext", "NotNext")
    rc, out, _ = run(capsys, "attribute", TEXT, "--steps", "4", "--layer", "0", "--head", "1", "--k", "3",
                     "--model", str(tiny_dir))
    assert rc == 0 and "deletion test" in out and "integrated_gradients" in out


def test_neuron_and_sides_json(capsys, tiny, tiny_dir):
    rc, out, _ = run(capsys, "neuron", "the cat sat .", "--layer", "1", "--head", "2", "--query", "3",
                     "--model", str(tiny_dir), "--json")
    res = json.loads(out)
    assert rc == 0 and list(res) == ["tokens", "query", "keys", "products", "scores", "probabilities"]
    v = neuron_view(tiny, "the cat sat .", 1, 2, 3)
    assert res["probabilities"] == pytest.approx(v.model_attention.tolist(), abs=1e-5)
    rc, out, _ = run(capsys, "sides", TEXT, "--top-k", "3", "--model", str(tiny_dir), "--json")
    res = json.loads(out)
    assert rc == 0 and res == json.loads(json.dumps(sides(tiny, TEXT, 3).to_dict()))
    assert [len(res[s]) for s in ("both", "left", "right")] == [3, 3, 3]


@pytest.mark.parametrize("argv, message", [
    (["attribute", "no mask here"], "no [MASK]"),
    (["attribute", "[MASK] [MASK]"], "Every token"),
    (["attribute", "a [MASK] .", "--steps", "0"], "IG steps"),
    (["attribute", "a [MASK] .", "--steps", "200"], None),  # allowed: a short input
    (["attribute", "[MASK] " + "word " * 600, "--steps", "200"], "at most 64 steps"),
    (["attribute", "a [MASK] .", "--target", "nsp"], "two sentences"),
    (["attribute", "a [MASK] .", "--baseline", "noise"], "invalid choice"),
    (["neuron", "the cat", "--layer", "7", "--head", "0", "--query", "0"], "no layer 7"),
    (["neuron", "the cat", "--layer", "0", "--head", "0", "--query", "9"], "no query 9"),
    (["sides", "no mask"], "no [MASK]"),
    (["fill", "a [MASK] .", "--candidates", ","], "No candidate words"),
])
def test_bad_input_one_line_exit_2(capsys, tiny_dir, argv, message):
    rc, out, err = run(capsys, *argv, "--model", str(tiny_dir), "--json")
    if message is None:
        assert rc == 0 and json.loads(out)["target"] == "mask"
        return
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
