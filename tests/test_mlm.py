"""Masked-LM predictions (fill and corrupted input), the `mask`/`fill` CLI commands, and real cloze sentences."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from bert_playground import PlaygroundError, load
from bert_playground.objectives.masking import IGNORE, MaskingConfig, mask_text
from bert_playground.objectives.mlm import _fill_text, fill, mask_word, normalise_masks, score_corruption, words

from apphelp import ROOT

EMBEDDED = ROOT / "assets" / "model"


def test_fill_shapes_sorting_and_probabilities(tiny):
    res = fill(tiny, "The [MASK] sat on the [MASK] near the [MASK].", top_k=7)
    assert res.tokens[0] == "[CLS]" and res.tokens[-1] == "[SEP]"
    assert [m.position for m in res.masks] == [i for i, t in enumerate(res.tokens) if t == "[MASK]"]
    assert len(res.masks) == 3
    for m in res.masks:
        probs = [p.probability for p in m.predictions]
        assert len(probs) == 7
        assert probs == sorted(probs, reverse=True)
        assert all(0 <= p <= 1 for p in probs) and sum(probs) <= 1 + 1e-6
        assert [p.token for p in m.predictions] == tiny.tokenizer.convert_ids_to_tokens([p.token_id for p in m.predictions])
    assert res.filled.count("[MASK]") == 0 and res.context_tokens == len(res.tokens) - 2 - 3


def test_fill_equals_a_plain_transformers_forward_pass(tiny):
    text = "Paris is the [MASK] of France and [MASK] is its river."
    res = fill(tiny, text, top_k=10)
    enc = tiny.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        logits = tiny.model(**enc).prediction_logits[0]  # (T, V)
    pos = (enc["input_ids"][0] == tiny.tokenizer.mask_token_id).nonzero()[:, 0].tolist()
    probs = logits[pos].softmax(-1)  # (M, V)
    top = probs.topk(10, dim=-1)
    assert [m.position for m in res.masks] == pos
    for m, ids, ps in zip(res.masks, top.indices.tolist(), top.values.tolist()):
        assert [p.token_id for p in m.predictions] == ids
        assert [p.probability for p in m.predictions] == pytest.approx(ps, abs=1e-6)


def test_top_k_all_vocab_sums_to_one(tiny):
    res = fill(tiny, "a [MASK]", top_k=10**9)  # clamped to the vocabulary
    assert len(res.masks[0].predictions) == tiny.info.vocab_size
    assert sum(p.probability for p in res.masks[0].predictions) == pytest.approx(1.0, abs=1e-4)


def test_mask_spellings_are_normalised_and_reported(tiny):
    res = fill(tiny, "a [mask] b <mask> c [ MASK ] d [MASK]", top_k=2)
    assert res.normalised == ("[mask]", "<mask>", "[ MASK ]")
    assert len(res.masks) == 4 and res.text == "a [MASK] b [MASK] c [MASK] d [MASK]"
    assert fill(tiny, "a [MASK] b", 1).normalised == ()
    assert normalise_masks("<Mask> x", "[MASK]") == ("[MASK] x", ("<Mask>",))


def test_only_masks_has_no_context(tiny):
    res = fill(tiny, "[MASK] [MASK] [MASK]", 3)
    assert res.context_tokens == 0 and len(res.masks) == 3


@pytest.mark.parametrize("text, message", [
    ("no mask here", "no \\[MASK\\]"),
    ("   ", "empty"),
    (None, "empty"),
])
def test_fill_bad_text(tiny, text, message):
    with pytest.raises(PlaygroundError, match=message):
        fill(tiny, text)


@pytest.mark.parametrize("k", [0, -1, 2.5, "5", True])
def test_fill_bad_top_k(tiny, k):
    with pytest.raises(PlaygroundError, match="top-k"):
        fill(tiny, "a [MASK]", k)


def test_fill_long_text_is_truncated_with_a_notice(tiny):
    res = fill(tiny, "The [MASK] " + "word " * 1000 + "and [MASK] at the end", 3)
    assert res.truncated and res.full_length > 1000 and len(res.tokens) == 512 and res.tokens[-1] == "[SEP]"
    assert len(res.masks) == 1 and res.masks_dropped == 1
    # masks beyond the first 512 tokens: a window around them is read, and the notice says so
    far = fill(tiny, "word " * 1000 + "the [MASK] sat on the [MASK] mat " + "word " * 1000, 3)
    assert far.truncated and len(far.tokens) == 512 and far.tokens[0] == "[CLS]" and far.tokens[-1] == "[SEP]"
    assert len(far.masks) == 2 and far.masks_dropped == 0 and 0 < far.window_start
    assert [far.tokens[m.position] for m in far.masks] == ["[MASK]", "[MASK]"]
    assert 100 < far.masks[0].position < 412  # centred, with context on both sides
    assert "window around the masks" in " ".join(far.notices)
    assert far.filled.count("[MASK]") == 0
    # the window gives the same guesses as the model on exactly those tokens
    from bert_playground.objectives.mlm import mlm_logits_at
    ids = [tiny.tokenizer.convert_tokens_to_ids(t) for t in far.tokens]
    probs = mlm_logits_at(tiny, ids, [m.position for m in far.masks]).float().softmax(-1)
    assert far.masks[0].predictions[0].token_id == int(probs[0].argmax())
    end = fill(tiny, "word " * 1000 + "[MASK]")
    assert len(end.masks) == 1 and end.window_start > 0 and end.tokens[-2] == "[MASK]"


def test_checkpoint_without_mlm_head(encoder_only_dir, tmp_path):
    from conftest import build_checkpoint

    enc = load(str(encoder_only_dir), "cpu")
    with pytest.raises(PlaygroundError, match="no masked-LM head"):
        fill(enc, "a [MASK]")
    with pytest.raises(PlaygroundError, match="no masked-LM head"):
        score_corruption(enc, mask_text(enc.tokenizer, "a b c"))
    nsp = load(str(build_checkpoint(tmp_path / "nsp", heads="nsp")), "cpu")
    with pytest.raises(PlaygroundError, match="no masked-LM head"):
        fill(nsp, "a [MASK]")


def test_mlm_only_checkpoint_works(tmp_path):
    from conftest import build_checkpoint

    b = load(str(build_checkpoint(tmp_path / "mlm", heads="mlm")), "cpu")
    assert len(fill(b, "a [MASK] b", 3).masks) == 1


def test_filled_text_and_word_picker():
    assert _fill_text("The [MASK] is [MASK].", "[MASK]", ["cat", "##s"]) == "The cat iss."
    assert _fill_text("a [MASK] b [MASK]", "[MASK]", ["x"]) == "a x b [MASK]"
    t = "The capital of France, is (Paris)."
    assert words(t) == ["The", "capital", "of", "France,", "is", "(Paris)."]
    assert mask_word(t, 3) == "The capital of [MASK], is (Paris)."
    assert mask_word(t, 5) == "The capital of France, is ([MASK])."
    assert mask_word("a [mask] b", 1) == "a [MASK] b"
    with pytest.raises(PlaygroundError):
        mask_word(t, 6)


# ---- a corrupted input ------------------------------------------------------------------------

def test_score_corruption_loss_is_cross_entropy_over_chosen_positions(tiny):
    text = "the quick brown fox jumps over the lazy dog " * 10
    masked = mask_text(tiny.tokenizer, text, MaskingConfig(rate=0.6), seed=2)
    score = score_corruption(tiny, masked)
    chosen = [i for i, lab in enumerate(masked.labels) if lab != IGNORE]
    assert [r.position for r in score.rows] == chosen
    assert {r.action for r in score.rows} == {"mask", "random", "keep"}  # all three actions are scored
    with torch.no_grad():
        logits = tiny.model(input_ids=torch.tensor([masked.input_ids])).prediction_logits[0]  # (T, V)
    expected = F.cross_entropy(logits, torch.tensor(masked.labels), ignore_index=IGNORE)
    assert score.loss == pytest.approx(float(expected), abs=1e-5)
    per_token = F.cross_entropy(logits, torch.tensor(masked.labels), ignore_index=IGNORE, reduction="none")[chosen]
    assert [r.loss for r in score.rows] == pytest.approx(per_token.tolist(), abs=1e-5)
    for r in score.rows:
        assert r.input == masked.input_tokens[r.position] and r.original == masked.tokens[r.position]
        assert r.probability >= r.label_probability - 1e-7
        assert r.label_probability == pytest.approx(float(torch.exp(torch.tensor(-r.loss))), rel=1e-5)
    assert 0 <= score.accuracy <= 1 and set(score.loss_by_action()) == {"mask", "random", "keep"}


def test_score_corruption_rate_zero_and_long_text(tiny):
    assert score_corruption(tiny, mask_text(tiny.tokenizer, "a b c", MaskingConfig(rate=0.0))).loss is None
    long = mask_text(tiny.tokenizer, "word " * 2000, MaskingConfig(rate=0.2), seed=0)
    score = score_corruption(tiny, long)
    assert score.truncated and score.length == 512 and all(r.position < 511 for r in score.rows)


# ---- CLI ---------------------------------------------------------------------------------

def cli(*args, env_model=None):
    env = dict(os.environ, HF_HUB_OFFLINE="1", BERT_PLAYGROUND_THREADS="1")
    env.pop("BERT_PLAYGROUND_MODEL", None)
    if env_model:
        env["BERT_PLAYGROUND_MODEL"] = str(env_model)
    return subprocess.run([sys.executable, "-m", "bert_playground", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_mask_json_fields(tiny_dir):
    r = cli("mask", "Hello there unaffable friend", "--rate", "1", "--seed", "3", "--whole-word", "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"tokens"}
    assert [set(t) for t in out["tokens"]] == [{"position", "original", "input", "label", "action"}] * len(out["tokens"])
    assert out["tokens"][0] == {"position": 0, "original": "[CLS]", "input": "[CLS]", "label": None, "action": None}
    assert all(t["action"] in ("mask", "random", "keep") for t in out["tokens"][1:-1])
    assert [t["label"] for t in out["tokens"][1:-1]] == [t["original"] for t in out["tokens"][1:-1]]


def test_cli_mask_needs_only_the_tokenizer(tiny_dir, tmp_path):
    folder = tmp_path / "tokenizer-only"
    folder.mkdir()
    for f in tiny_dir.iterdir():
        if not f.name.endswith(".safetensors"):
            shutil.copy(f, folder / f.name)
    (folder / "model.safetensors").write_bytes(b"not weights")  # never read by `mask`
    r = cli("mask", "Hello there", "--model", str(folder), "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["tokens"]) == 4
    assert cli("mask", "Hello there", env_model=folder).returncode == 0  # text output, $BERT_PLAYGROUND_MODEL


def test_cli_fill_json_fields(tiny_dir):
    r = cli("fill", "The [mask] is [MASK].", "--top-k", "3", "--model", str(tiny_dir), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"model", "tokens", "masks"}
    assert out["model"] == str(tiny_dir) and out["tokens"][0] == "[CLS]"
    assert [m["position"] for m in out["masks"]] == [i for i, t in enumerate(out["tokens"]) if t == "[MASK]"]
    for m in out["masks"]:
        assert set(m) == {"position", "predictions"} and len(m["predictions"]) == 3
        assert all(set(p) == {"token", "token_id", "probability"} for p in m["predictions"])
        probs = [p["probability"] for p in m["predictions"]]
        assert probs == sorted(probs, reverse=True)
    assert "[mask]" in r.stderr  # the notice, outside the JSON


def main_(args, capsys, monkeypatch, env_model=None):
    """The CLI in-process (same main() as `python -m bert_playground`): (exit code, stdout, stderr)."""
    from bert_playground.cli import main

    if env_model:
        monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(env_model))
    try:
        rc = main(list(args))
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_cli_fill_text_output(tiny_dir, capsys, monkeypatch):
    rc, out, _ = main_(["fill", "a [MASK] b"], capsys, monkeypatch, env_model=tiny_dir)
    assert rc == 0 and "filled:" in out and "mask at 2" in out


@pytest.mark.parametrize("args, message", [
    (["fill", "no mask"], "no [MASK]"),
    (["fill", "a [MASK]", "--top-k", "0"], "top-k"),
    (["fill", "   "], "empty"),
    (["mask", "hi", "--rate", "1.5"], "between 0 and 1"),
    (["mask", "  "], "empty"),
    (["mask", "hi", "--model", "/no/such/folder"], "does not exist"),
    (["fill", "a [MASK]", "--model", "/no/such/folder"], "does not exist"),
    (["mask", "hi", "--rate", "x"], "error:"),
])
def test_cli_errors_are_one_line_and_nonzero(tiny_dir, args, message, capsys, monkeypatch):
    rc, out, err = main_(args, capsys, monkeypatch, env_model=tiny_dir)
    assert rc != 0 and out == ""
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_fill_without_mlm_head_exits_2_as_a_process(encoder_only_dir):
    r = cli("fill", "a [MASK]", "--model", str(encoder_only_dir), "--json")
    assert r.returncode == 2 and "no masked-LM head" in r.stderr and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_mask_works_with_an_encoder_only_checkpoint(encoder_only_dir, capsys, monkeypatch):
    rc, out, _ = main_(["mask", "a b c", "--model", str(encoder_only_dir), "--json"], capsys, monkeypatch)
    assert rc == 0 and len(json.loads(out)["tokens"]) == 5


# ---- the embedded checkpoint: sentences with one clear answer --------------------------------

CLOZE = [  # answers a compact, CPU-trained checkpoint still gets into its top 5
    ("Paris is the capital of [MASK].", "france"),
    ("Berlin is the capital of [MASK].", "germany"),
    ("The United States of [MASK].", "america"),
    ("The Pacific [MASK] is the largest ocean on Earth.", "ocean"),
    ("He studied medicine at the [MASK] of Oxford.", "university"),  # the Masked-LM page's default text
]


@pytest.fixture(scope="module")
def embedded():
    if not (EMBEDDED / "config.json").is_file():
        pytest.skip("the embedded checkpoint (assets/model) is not there yet")
    return load("embedded", "cpu")


@pytest.mark.parametrize("text, answer", CLOZE)
def test_embedded_cloze(embedded, text, answer):
    res = fill(embedded, text, top_k=5)
    assert answer in [p.token for p in res.masks[0].predictions], res.masks[0].predictions


def test_embedded_cli_fill_default_model():
    if not (EMBEDDED / "config.json").is_file():
        pytest.skip("the embedded checkpoint (assets/model) is not there yet")
    r = cli("fill", "Paris is the capital of [MASK].", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["model"] == "embedded"
    assert "france" in [p["token"] for p in out["masks"][0]["predictions"]]


@pytest.mark.parametrize("rows", [1, 2, 3, 7, 20])
def test_vocab_projection_fast_path_equals_the_heads_linear(tiny, rows):
    """mlm_logits_at computes the head before its vocabulary projection, then (W h^T)^T: the model's own logits."""
    from bert_playground.checkpoints.models import forward, submodule
    from bert_playground.objectives.mlm import _split_head, mlm_logits_at, vocab_logits

    head = submodule(tiny.model, tiny.family.mlm_head)
    before, projection = _split_head(tiny)
    assert projection is head.decoder and isinstance(head.decoder, torch.nn.Linear)  # the model is left as it is
    assert _split_head(tiny)[0] is before  # built once per model
    mine = {id(p) for p in head.parameters()}
    assert {id(p) for p in before.parameters()} <= mine and id(projection.weight) in mine  # shared, not copied
    g = torch.Generator().manual_seed(rows)
    h = torch.randn(rows, tiny.info.hidden_size, generator=g)
    with torch.inference_mode():
        assert torch.allclose(vocab_logits(before(h), projection), head(h), atol=1e-5)
        ids = [tiny.tokenizer.cls_token_id] + [tiny.tokenizer.mask_token_id] * rows + [tiny.tokenizer.sep_token_id]
        full = forward(tiny, {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long),
                              "token_type_ids": torch.zeros(1, len(ids), dtype=torch.long)}).mlm_logits[0, 1:-1]
        assert torch.allclose(mlm_logits_at(tiny, ids, list(range(1, rows + 1))), full, atol=1e-4)
