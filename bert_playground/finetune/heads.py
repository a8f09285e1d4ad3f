"""Task heads: the `Head` protocol the loop calls, the registry of head classes, and how a head model is built.

Each (task, mode) is one class registered in `TASK_HEADS` (`sequence.py`: classify and pairs; `tagging.py`: a tag
per word; `qa.py`: answer spans); the loop (`loop.py`) only calls the `Head` protocol, so a new task or mode is a
new class, not a branch in the loop. Every head model is the checkpoint family's own class (`families.py` names
it), with a copy of the encoder's weights: the shared model is never touched.
"""
from __future__ import annotations

import copy
import re
from typing import Iterator, Protocol

import torch
import transformers
from transformers import AutoTokenizer

from ..core.errors import PlaygroundError
from ..core.training import autocast
from .classifier import batch, by_length
from .config import FinetuneConfig
from .events import Prepare
from .predictors import accepted


class Head(Protocol):
    """What the loop needs from a task head."""

    model: torch.nn.Module
    params: list[torch.nn.Parameter]  # the parameters that train
    clip: float | None  # gradient-norm clipping (None: none)
    n_train: int  # training rows the loop draws batches from (QA: windows, not questions)

    def prepare(self, stop) -> Iterator[Prepare]: ...  # work before the first step (frozen: [CLS] features)
    def loss(self, idx: torch.Tensor) -> torch.Tensor: ...  # mean loss of training rows `idx`
    def evaluate(self): ...  # scores on the held-out data (Metrics, TagMetrics or QAMetrics: .score, .row())
    def predictor(self): ...  # the trained model, ready to predict (Classifier, Tagger or Reader)


HEADS: dict[str, type] = {}  # sequence classification (single texts and pairs): mode -> Head class
TASK_HEADS: dict[str, dict[str, type]] = {"classify": HEADS, "pairs": HEADS, "tag": {}, "qa": {}}  # task -> mode -> Head


def register(mode: str, task: str = "classify"):
    """Class decorator: the head of `task` in `mode`."""
    def add(cls):
        TASK_HEADS[task][mode] = cls
        return cls
    return add


def head_class(task: str, mode: str) -> type:
    from . import qa, sequence, tagging  # noqa: F401 (each registers its heads)

    return TASK_HEADS[task][mode]


# ---- building a head model ------------------------------------------------------------------

_LAYER = re.compile(r"(?:encoder\.layer|transformer\.layer|layers)\.(\d+)\.")  # BERT/RoBERTa/ELECTRA, DistilBERT, ModernBERT


def encoder_state(bundle, layers: int | None) -> dict[str, torch.Tensor]:
    """The checkpoint's encoder weights, without the layers beyond the first `layers` (ALBERT shares one set of
    layer weights: keeping fewer layers only repeats it fewer times)."""
    keep = {}
    for name, t in bundle.encoder.state_dict().items():
        m = _LAYER.match(name)
        if m and layers is not None and int(m.group(1)) >= layers:
            continue
        keep[name] = t
    return keep


def _trimmed_config(bundle, layers: int | None, cls_name: str, **changes):
    """A copy of the encoder's config with only the first `layers` layers (None: all), for a new `cls_name`."""
    config = copy.deepcopy(bundle.encoder.config)
    n_layers = "n_layers" if bundle.family.model_type == "distilbert" else "num_hidden_layers"
    setattr(config, n_layers, layers or getattr(config, n_layers))
    if bundle.family.model_type == "modernbert":
        config.layer_types = config.layer_types[:getattr(config, n_layers)] if config.layer_types else None
    for k, v in changes.items():
        setattr(config, k, v)
    config.architectures = [cls_name]
    config.output_attentions = config.output_hidden_states = False
    return config


def build_model(bundle, cls_name: str, layers: int | None, device=None, **config_changes) -> torch.nn.Module:
    """A new head model of the checkpoint's family (its `sequence_classification`, `token_classification` or
    `question_answering` class) whose encoder is a copy of the first `layers` layers of the bundle's."""
    config = _trimmed_config(bundle, layers, cls_name, **config_changes)
    model = getattr(transformers, cls_name)._from_config(config, attn_implementation="sdpa", dtype=torch.float32)
    missing, unexpected = model.base_model.load_state_dict(encoder_state(bundle, layers), strict=False)  # copies
    unexpected = [k for k in unexpected if not k.startswith("pooler.")]  # token and span heads read no pooler
    if unexpected or any(not k.startswith("pooler.") for k in missing):
        raise PlaygroundError(f"The checkpoint's encoder does not fit a {cls_name} (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}).")
    return model.to(device or bundle.device).train()


def build_classifier(bundle, label_names, layers: int | None = None, device=None) -> torch.nn.Module:
    """A new sequence classifier of the checkpoint's family (BertForSequenceClassification,
    RobertaForSequenceClassification, ...) whose encoder is a copy of the first `layers` layers of the bundle's."""
    return build_model(bundle, bundle.family.sequence_classification, layers, device,
                       **label_config(label_names), problem_type="single_label_classification")


def label_config(label_names) -> dict:
    """The config fields that name a head's labels."""
    return dict(num_labels=len(label_names), id2label=dict(enumerate(label_names)),
                label2id={n: i for i, n in enumerate(label_names)})


def reinitialise(model: torch.nn.Module) -> torch.nn.Module:
    """Fresh random weights, the library's own initialisation, same architecture and shapes (what pre-training buys)."""
    fresh = type(model)._from_config(model.config, attn_implementation="sdpa", dtype=torch.float32)
    model.load_state_dict(fresh.state_dict())
    return model


def freeze_encoder(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Only the head trains: the encoder's parameters stop requiring gradients; returns those that train."""
    for p in model.base_model.parameters():
        p.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]


def tokenizer_copy(bundle):
    """Training uses its own tokenizer (it is saved with the model), never the shared one."""
    try:
        return copy.deepcopy(bundle.tokenizer)
    except Exception:
        return AutoTokenizer.from_pretrained(bundle.info.path, local_files_only=True)


# ---- frozen encoders: their outputs computed once ------------------------------------------------

FROZEN_STATES_MB = 1024  # a frozen token/span head keeps the encoder's outputs in memory up to this size


def encoder_head(task, bundle, cls_name: str, cfg: FinetuneConfig, device, **config_changes) -> None:
    """The shared set-up of the token and span heads: the model, its mode (full / frozen / random), the tokenizer."""
    task.device, task.cfg = device, cfg
    task.tokenizer = tokenizer_copy(bundle)
    task.model = build_model(bundle, cls_name, cfg.layers, device, **config_changes)
    if cfg.mode == "random":
        reinitialise(task.model)
    task.params = freeze_encoder(task.model) if cfg.mode == "frozen" else list(task.model.parameters())
    task.states = None  # frozen: (train, eval) encoder outputs, computed once by `frozen_states`


def encoder_mode(task) -> None:
    """A frozen encoder always runs in eval mode (no dropout): the features the head trains on are fixed."""
    if task.cfg.mode == "frozen":
        task.model.base_model.eval()


def states_fit(model, *tensors: dict) -> bool:
    """Whether the (N, T, D) float32 encoder outputs of these rows fit in FROZEN_STATES_MB."""
    rows = sum(t["input_ids"].numel() for t in tensors)
    return rows * model.config.hidden_size * 4 <= FROZEN_STATES_MB * 2**20


@torch.no_grad()
def frozen_states(task, tensors: list[dict], stop) -> Iterator[Prepare]:
    """A frozen encoder's last hidden states of every row, computed once in eval mode: (N, T, D) per tensor set.

    The head then trains on them (feature extraction, as for the sequence head's [CLS] vectors). Rows that would
    not fit in FROZEN_STATES_MB are left to a forward pass per step instead (same result, slower)."""
    if task.cfg.mode != "frozen" or not states_fit(task.model, *tensors):
        return
    base, total, done, out = task.model.base_model, sum(len(t["input_ids"]) for t in tensors), 0, []
    base.eval()
    for enc in tensors:
        n, t = enc["input_ids"].shape
        h = torch.zeros((n, t, task.model.config.hidden_size), device=task.device)  # (N, T, D)
        for idx in by_length(enc, 64):
            if stop is not None and stop.is_set():
                return
            rows = accepted(base, {k: v for k, v in batch(enc, idx, task.device).items() if k != "labels"})
            with autocast(task.device):
                h[idx.to(task.device), :rows["input_ids"].shape[1]] = base(**rows).last_hidden_state.float()
            done += len(idx)
            yield Prepare(done, total)
        out.append(h)
    task.states = tuple(out)
