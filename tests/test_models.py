import pytest
import torch
from transformers import BertForMaskedLM, BertForPreTraining, BertModel

from bert_playground import CheckpointError, load
from bert_playground.checkpoints import folders as checkpoint
from bert_playground.checkpoints import models

from conftest import build_checkpoint


def test_load_pretraining_checkpoint(tiny, tiny_dir):
    assert isinstance(tiny.model, BertForPreTraining)
    i = tiny.info
    assert (i.layers, i.heads, i.hidden_size, i.vocab_size) == (2, 4, 32, 30522)
    assert i.has_mlm and i.has_nsp and i.missing_heads == []
    assert i.source == "local" and tiny.device.type == "cpu"
    assert tiny.model.config._attn_implementation == "eager"
    assert all(p.dtype == torch.float32 and not p.requires_grad for p in tiny.model.parameters())
    assert not tiny.model.training


def test_encoder_only_reports_missing_heads(encoder_only_dir):
    b = load(str(encoder_only_dir), "cpu")
    assert isinstance(b.model, BertModel)
    assert b.info.missing_heads == ["MLM", "NSP"]
    out = models.forward(b, {"input_ids": torch.tensor([[101, 7592, 102]])})
    assert out.mlm_logits is None and out.nsp_logits is None


def test_mlm_only_checkpoint(tmp_path):
    b = load(str(build_checkpoint(tmp_path / "mlm", heads="mlm")), "cpu")
    assert isinstance(b.model, BertForMaskedLM) and b.info.missing_heads == ["NSP"]
    out = models.forward(b, {"input_ids": torch.tensor([[101, 103, 102]])})
    assert out.mlm_logits.shape == (1, 3, 30522) and out.nsp_logits is None


def test_float16_checkpoint_loads_as_float32_on_cpu(tmp_path, tiny_dir):
    import shutil

    from safetensors.torch import load_file, save_file

    dst = tmp_path / "fp16"
    shutil.copytree(tiny_dir, dst)
    sd = load_file(str(dst / "model.safetensors"))
    save_file({k: v.half() for k, v in sd.items()}, str(dst / "model.safetensors"), metadata={"format": "pt"})
    b = load(str(dst), "cpu")
    assert b.info.dtype_on_disk in ("f16", "float16")
    assert all(p.dtype == torch.float32 for p in b.model.parameters())


def test_embedded_missing_is_clear(monkeypatch, tmp_path):
    monkeypatch.setattr(checkpoint, "EMBEDDED_DIR", tmp_path / "nothing")  # the one place of the rule
    with pytest.raises(CheckpointError, match="embedded checkpoint is missing"):
        load("embedded", "cpu")


def test_env_variable_sets_default(monkeypatch, tiny_dir):
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(tiny_dir))
    assert models.default_name() == str(tiny_dir)
    assert load(None, "cpu").info.name == str(tiny_dir)
    monkeypatch.delenv("BERT_PLAYGROUND_MODEL")
    assert models.default_name() == "embedded"


@pytest.mark.parametrize("name, message", [
    ("/definitely/not/here", "does not exist"),
    ("bert-base-uncased", "Hub cannot be reached"),
    ("a/b/c d", "neither an existing folder"),
])
def test_bad_names(name, message):
    with pytest.raises(CheckpointError, match=message):
        load(name, "cpu")


def test_hub_error_names_offline_alternatives():
    with pytest.raises(CheckpointError) as e:
        load("bert-base-uncased", "cpu")
    assert "embedded" in str(e.value) and "local checkpoint folder" in str(e.value)


def test_folder_without_weights_and_pickle_only(tmp_path, tiny_dir):
    import shutil

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CheckpointError, match="no config.json"):
        load(str(empty), "cpu")
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_dir, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match="safetensors only"):
        load(str(pickled), "cpu")
    (pickled / "pytorch_model.bin").unlink()
    with pytest.raises(CheckpointError, match="no \\*.safetensors"):
        load(str(pickled), "cpu")


def test_non_bert_model_type_is_refused(tmp_path, tiny_dir):
    import json
    import shutil

    dst = tmp_path / "roberta"
    shutil.copytree(tiny_dir, dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    (dst / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="BERT-architecture"):
        load(str(dst), "cpu")


def test_device_choice_and_threads(monkeypatch):
    from bert_playground.core import device

    monkeypatch.setenv("BERT_PLAYGROUND_THREADS", "1")
    assert device.choose_device("cpu").type == "cpu"
    assert torch.get_num_threads() == 1
    assert device.describe("cpu").startswith("CPU (1 thread")
    monkeypatch.delenv("BERT_PLAYGROUND_THREADS")
    assert device.cpu_threads() >= 1


def test_classroom_allow_list(monkeypatch, tiny_dir):
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", "embedded, bert-base-uncased")
    assert models.allowed_models() == ["embedded", "bert-base-uncased"]
    with pytest.raises(CheckpointError, match="classroom mode"):
        load(str(tiny_dir), "cpu")
    with pytest.raises(CheckpointError, match="classroom mode"):
        load("some-org/some-model", "cpu")
    monkeypatch.setenv("BERT_PLAYGROUND_ALLOWED_MODELS", f"{tiny_dir}")
    with pytest.raises(CheckpointError, match="local folders is disabled"):
        load(str(tiny_dir), "cpu")


def test_forward_without_mlm_head_gives_the_same_nsp_and_attentions(tiny):
    enc = {"input_ids": torch.tensor([[101, 7592, 102, 2088, 102]]), "token_type_ids": torch.tensor([[0, 0, 0, 1, 1]])}
    full = models.forward(tiny, enc, attentions=True)
    lean = models.forward(tiny, enc, attentions=True, mlm=False)
    assert lean.mlm_logits is None
    assert torch.allclose(full.nsp_logits, lean.nsp_logits, atol=1e-6)
    assert all(torch.allclose(x, y) for x, y in zip(full.attentions, lean.attentions))
