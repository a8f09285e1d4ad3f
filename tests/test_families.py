"""The BERT family: every supported model_type loads with the heads its weights have, and every command works
(or refuses clearly) on a tiny random checkpoint of each family (tests/familykit.py builds them)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import transformers

from bert_playground import CheckpointError, cli, load
from bert_playground.checkpoints.families import FAMILIES
from bert_playground.inputs.representation import embedding_parts, represent
from bert_playground.interpret.attention import compute
from bert_playground.objectives.mlm import fill

from conftest import FAMILY_KINDS

EXPECTED = {  # kind -> (class, heads present)
    "bert": ("BertForPreTraining", ["MLM", "NSP"]),
    "bert-cased": ("BertForPreTraining", ["MLM", "NSP"]),
    "roberta": ("RobertaForMaskedLM", ["MLM"]),
    "distilbert": ("DistilBertForMaskedLM", ["MLM"]),
    "albert": ("AlbertForPreTraining", ["MLM", "SOP"]),
    "electra-discriminator": ("ElectraForPreTraining", ["RTD"]),
    "electra-generator": ("ElectraForMaskedLM", ["MLM"]),
    "modernbert": ("ModernBertForMaskedLM", ["MLM"]),
}


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_heads_read_from_weights(family_bundles, kind):
    b = family_bundles[kind]
    cls, heads = EXPECTED[kind]
    assert type(b.model).__name__ == cls and b.info.model_class == cls
    assert b.info.heads_present == heads and b.info.missing_heads == []
    assert b.model.config._attn_implementation == "eager"
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in b.model.parameters())
    assert b.info.parameters == sum(p.numel() for p in b.model.parameters())


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_attention_equals_plain_transformers(family_bundles, family_dirs, kind):
    """The maps the package returns are those of an independent forward pass of the bare encoder class."""
    b = family_bundles[kind]
    maps = compute(b, "The cat sat on the mat.", "It purred.")
    fam = FAMILIES[b.info.model_type]
    bare = getattr(transformers, fam.classes[frozenset()]).from_pretrained(
        str(family_dirs[kind]), attn_implementation="eager", dtype=torch.float32).eval()
    enc = b.tokenizer("The cat sat on the mat.", "It purred.", return_tensors="pt")
    with torch.no_grad():
        ref = bare(**enc, output_attentions=True).attentions  # L x (1, H, T, T)
    ref = torch.stack([a[0] for a in ref]).numpy()
    assert maps.attentions.shape == ref.shape == (2, 4, len(maps.tokens), len(maps.tokens))
    np.testing.assert_allclose(maps.attentions, ref, atol=1e-5)
    np.testing.assert_allclose(maps.attentions.sum(-1), 1.0, atol=1e-4)
    assert maps.sentence_b_start is not None and maps.tokens[0] == b.tokenizer.cls_token


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_embedding_parts_match_the_model(family_bundles, kind):
    """What the Input representation page shows is what the family's embedding module computes."""
    b = family_bundles[kind]
    enc = represent(b, "The cat sat.", "It purred.").encoding
    parts = embedding_parts(b, enc)
    emb = b.encoder.embeddings
    ids = torch.tensor([enc.input_ids])
    kw = {"token_type_ids": torch.tensor([enc.token_type_ids])} if b.family.segments else {}
    with torch.no_grad():
        ref = emb(input_ids=ids, **kw)[0]  # (T, E)
    np.testing.assert_allclose(parts.normed.numpy(), ref.numpy(), atol=1e-5)
    fam = b.family
    if fam.segment_types is None or fam.positions == "rotary" or fam.segment_types == 1 or kind == "albert":
        assert parts.notices  # said, never a silent gap
    if kind in ("albert", "electra-discriminator", "electra-generator"):
        assert parts.projected.shape == (len(enc), b.info.hidden_size) and parts.normed.shape[1] == 16


@pytest.mark.parametrize("kind", [k for k in FAMILY_KINDS if EXPECTED[k][1].count("MLM")])
def test_fill_uses_the_models_own_mask_token(family_bundles, kind):
    b = family_bundles[kind]
    tok = b.tokenizer
    res = fill(b, "The cat sat on the [MASK].", top_k=3)  # typed BERT-style: read as this tokenizer's mask
    assert res.mask_token == tok.mask_token and res.tokens[res.masks[0].position] == tok.mask_token
    probs = [p.probability for p in res.masks[0].predictions]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True)
    assert tok.mask_token not in res.filled
    for mark in ("Ġ", "▁", "##"):
        assert mark not in res.filled


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_cli_represent_mask_attention(capsys, family_dirs, kind):
    d = str(family_dirs[kind])
    code, out, err = run_cli(capsys, "represent", "The cat sat.", "It purred.", "--model", d, "--json")
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert rows[0]["token"] in ("[CLS]", "<s>")
    code, out, err = run_cli(capsys, "mask", "The cat sat on the mat with a dog.", "--rate", "0.5", "--seed", "1",
                             "--model", d, "--json")
    assert code == 0, err
    code, out, err = run_cli(capsys, "attention", "The cat sat.", "--model", d, "--json")
    assert code == 0, err
    assert np.asarray(json.loads(out)["attentions"]).shape[:2] == (2, 4)


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_cli_fill_and_nsp(capsys, family_dirs, family_bundles, kind):
    d, info = str(family_dirs[kind]), family_bundles[kind].info
    code, out, err = run_cli(capsys, "fill", "The cat sat on the [MASK].", "--model", d, "--json")
    if info.has_mlm:
        assert code == 0, err
        assert set(json.loads(out)) == {"model", "tokens", "masks"}
    else:
        assert code == 2 and "no masked-LM head" in err and "ELECTRA" in err and len(err.splitlines()) == 1
    code, out, err = run_cli(capsys, "nsp", "It rained all day.", "The streets were flooded.", "--model", d, "--json")
    if info.has_nsp:
        assert code == 0 and 0 <= json.loads(out)["is_next_probability"] <= 1
    elif info.has_sop:
        res = json.loads(out)
        assert code == 0 and res["task"] == "sop" and 0 <= res["in_order_probability"] <= 1
    else:
        assert code == 2 and len(err.splitlines()) == 1 and "trained without a sentence-pair task" in err


def test_sop_probability_is_the_sop_heads(family_bundles):
    """ALBERT's SOP score equals AlbertForPreTraining's sop_logits of the same input."""
    from bert_playground.objectives.nsp import score_text

    b = family_bundles["albert"]
    s = score_text(b, "It rained all day.", "The streets were flooded.")
    enc = b.tokenizer("It rained all day.", "The streets were flooded.", return_tensors="pt")
    with torch.no_grad():
        ref = b.model(**enc).sop_logits.softmax(-1)[0, 0].item()
    assert s.task == "sop" and s.prediction in ("InOrder", "Swapped") and abs(s.is_next_probability - ref) < 1e-5


def test_fill_several_models_side_by_side(capsys, family_dirs):
    argv = ["fill", "The cat sat on the [MASK].", "--top-k", "2", "--json"]
    for kind in ("bert", "roberta", "modernbert"):
        argv += ["--model", str(family_dirs[kind])]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    res = json.loads(out)
    assert [m["model"] for m in res["models"]] == [str(family_dirs[k]) for k in ("bert", "roberta", "modernbert")]
    assert all(len(m["masks"]) == 1 and len(m["masks"][0]["predictions"]) == 2 for m in res["models"])
    code, out, err = run_cli(capsys, "fill", "The cat sat on the [MASK].", "--model", str(family_dirs["roberta"]),
                             "--model", str(family_dirs["bert"]))
    assert code == 0 and out.count("model: ") == 2


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_cli_finetune_few_steps(capsys, tmp_path, family_dirs, kind):
    train = tmp_path / "train.csv"
    rows = ["text,label"] + [f"the cat sat on the mat {i},pos" if i % 2 else f"rain fell all day {i},neg"
                             for i in range(16)]
    train.write_text("\n".join(rows) + "\n")
    code, out, err = run_cli(capsys, "finetune", "--train", str(train), "--eval", str(train), "--mode", "full",
                             "--epochs", "1", "--batch-size", "8", "--model", str(family_dirs[kind]),
                             "--save", str(tmp_path / "clf"), "--json")
    assert code == 0, err
    cfg = json.loads((tmp_path / "clf" / "config.json").read_text())
    assert cfg["architectures"] == [FAMILIES[cfg["model_type"]].sequence_classification]
    code, out, err = run_cli(capsys, "classify", "--model", str(tmp_path / "clf"), "the cat sat", "--json")
    assert code == 0, err


@pytest.mark.parametrize("kind", ["roberta", "albert", "distilbert", "modernbert"])
def test_frozen_mode_trains_only_the_head(tmp_path, family_bundles, kind):
    from bert_playground import finetune
    from bert_playground.datasets import read_file, to_labelled

    from bert_playground.finetune import sequence

    b = family_bundles[kind]
    before = {n: p.clone() for n, p in b.encoder.state_dict().items()}
    built = {}

    def spy(*args, **kw):  # the classifier as built, before any step
        model = real(*args, **kw)
        built.update({n: p.detach().clone() for n, p in model.named_parameters()})
        return model

    real = sequence.build_classifier
    mp = pytest.MonkeyPatch()
    mp.setattr(sequence, "build_classifier", spy)
    train = tmp_path / "t.csv"
    train.write_text("text,label\n" + "".join(f"sentence number {i},{'ab'[i % 2]}\n" for i in range(8)))
    data = to_labelled(read_file(train), "text", "label")
    try:
        result = finetune.run(b, data, data, finetune.FinetuneConfig(mode="frozen", epochs=2, batch_size=4, lr=0.05))
    finally:
        mp.undo()
    assert result.steps >= 2
    fam = FAMILIES[kind]
    trained = dict(result.classifier.model.named_parameters())
    pooler = (fam.pooler or "-") + "."
    encoder = [n for n in built if n.startswith(fam.base + ".") and not n.startswith(pooler)]
    head = [n for n in built if n not in encoder]
    assert encoder and head
    assert all(torch.equal(built[n], trained[n].detach()) for n in encoder)  # the encoder did not move
    assert any(not torch.equal(built[n], trained[n].detach()) for n in head)  # the head did
    assert all(torch.equal(before[n], p) for n, p in b.encoder.state_dict().items())  # the shared model is untouched


# ---- refusals ------------------------------------------------------------------------------------------------

def _variant(src, dst, edit):
    shutil.copytree(src, dst)
    edit(dst)
    return dst


def _config(d, **changes):
    cfg = json.loads((d / "config.json").read_text())
    cfg.update(changes)
    (d / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("kind", ["roberta", "albert", "modernbert"])
def test_refusals_are_one_clear_line(capsys, tmp_path, family_dirs, kind):
    src = family_dirs[kind]

    def pickle_only(d):
        (d / "model.safetensors").unlink()
        (d / "pytorch_model.bin").write_bytes(b"not really a pickle")

    cases = {
        "pickle": (pickle_only, "pickle"),
        "remote": (lambda d: _config(d, model_type="my-own-bert",
                                     auto_map={"AutoModel": "modeling_mine.MyBert"}), "never runs remote code"),
        "gpt2": (lambda d: _config(d, model_type="gpt2"), "RoBERTa (roberta)"),
        "wrong-type": (lambda d: _config(d, model_type="bert"), "do not fit"),
    }
    for name, (edit, message) in cases.items():
        d = _variant(src, tmp_path / name, edit)
        with pytest.raises(CheckpointError) as exc:
            load(str(d), "cpu")
        assert message in str(exc.value) and "\n" not in str(exc.value), (name, str(exc.value))
        code, out, err = run_cli(capsys, "represent", "hi", "--model", str(d))
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err
