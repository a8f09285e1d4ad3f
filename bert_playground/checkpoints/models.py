"""Loading BERT-family checkpoints: the embedded one, a local folder, or a Hub id.

Rules: safetensors only, never remote code, eager attention (so attention maps can be
returned), float32 on the CPU whatever the dtype on disk. The family (BERT, RoBERTa, DistilBERT,
ALBERT, ELECTRA, ModernBERT: `families.py`) comes from config.json's model_type; the checkpoint
is loaded with the family's class that holds exactly the heads its weights have (e.g.
`BertForPreTraining` for MLM + NSP), and the missing ones are reported, never invented.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from transformers import CONFIG_MAPPING, AutoTokenizer, PretrainedConfig
from transformers.utils import logging as hf_logging

from ..core.device import choose_device
from ..core.errors import CheckpointError, shown
from ..core.paths import EMBEDDED_DIR  # noqa: F401  (re-exported)
from .parts import submodule  # noqa: F401 (re-exported: models.submodule)
from .families import MLM, PAIR, RTD, Family

# Names, folders and their checks live in the torch-free `checkpoint` module (one implementation, also read by the
# home page before torch loads); re-exported here for the callers of `models`.
from .folders import (  # noqa: F401
    EMBEDDED,
    ENV_ALLOWED,
    ENV_MODEL,
    ENV_ROOT,
    OFFLINE_HINT,
    SIZES,
    TOKENIZER_FILES,
    CheckpointInfo,
    allowed_models,
    cache_key,
    check_folder,
    check_model_type,
    checkpoint_root,
    default_name,
    has_tokenizer,
    make_info,
    read_config,
    resolve,
    weight_keys,
)

hf_logging.disable_progress_bar()


@dataclass(frozen=True)
class Bundle:
    """A loaded checkpoint. Treat it as read-only: it is shared by every session of the app."""

    tokenizer: object
    model: torch.nn.Module  # the family's class for the heads present: BertForPreTraining, RobertaForMaskedLM, ...
    device: torch.device
    info: CheckpointInfo

    @property
    def family(self) -> Family:
        return self.info.family

    @property
    def encoder(self) -> torch.nn.Module:
        """The bare encoder (BertModel, RobertaModel, ...) inside whichever head class was loaded."""
        return getattr(self.model, self.info.family.base, self.model)


def _hub_folder(name: str) -> Path:
    """Download (or find in the cache) a Hub checkpoint's config, safetensors weights and tokenizer."""
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(
            name,
            allow_patterns=["*.json", "*.safetensors", "vocab.txt", "merges.txt", "*.model"],
        )
    except Exception as exc:  # offline, unknown repo, gated repo: all mean 'cannot get it'
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in str(exc).lower() \
            or "connect" in str(exc).lower() or "resolve" in str(exc).lower()
        why = "the Hugging Face Hub cannot be reached (offline)" if offline else f"the Hub refused it ({type(exc).__name__})"
        raise CheckpointError(f"Could not load {shown(name, 80)} from the Hugging Face Hub: {why}. {OFFLINE_HINT}") from None
    return Path(path)


def read_info(folder: Path, name: str, source: str) -> tuple[CheckpointInfo, PretrainedConfig]:
    """The checkpoint's description and its transformers config: the folder checks and config.json of
    `checkpoint` (the same rules as the home page's `quick_info`), the sizes as transformers' config class reads them."""
    files = check_folder(folder, name)
    raw = read_config(folder, name)
    fam = check_model_type(raw, name)
    try:
        config = CONFIG_MAPPING[fam.model_type].from_dict({k: v for k, v in raw.items() if k != "auto_map"})
        keys, dtype = weight_keys(files)
    except Exception as exc:  # a corrupt or truncated file, a config with the wrong types (message not shown: it can
        raise CheckpointError(f"{shown(name, 80)} could not be read ({type(exc).__name__}).") from None  # quote the file)
    sizes = {k: getattr(config, k, None) for k in SIZES}
    return make_info(name, source, folder, fam, sizes, keys, dtype, raw), config


def _check_weights_fit(model, loading: dict, info: CheckpointInfo) -> None:
    """Refuse a checkpoint whose weights do not fit its declared family (e.g. BERT weights labelled 'roberta'):
    from_pretrained would give the missing ones random values, and the pages would show noise."""
    tied = set(getattr(model, "all_tied_weights_keys", None) or getattr(model, "_tied_weights_keys", None) or ())
    missing = [k for k in loading.get("missing_keys", ()) if k not in tied and not k.endswith("position_ids")]
    if missing:
        raise CheckpointError(
            f"'{info.name}' says it is a '{info.model_type}' checkpoint, but its weights do not fit "
            f"{info.family.name} ({len(missing)} weights missing, e.g. {missing[0]}).")


_LOAD_LOCK = threading.Lock()  # one model load at a time per process (the app loads from several threads)


def load(name_or_path: str | None = None, device: str | torch.device | None = None,
         allowed: list[str] | None = None, shared: bool = False) -> Bundle:
    """Load a checkpoint for inspection: eval mode, eager attention, float32 weights on every device."""
    name, source, folder = resolve(name_or_path, allowed, shared)
    if folder is None:
        folder = _hub_folder(name)
    info, config = read_info(folder, name, source)
    device = torch.device(device) if device is not None else choose_device()
    config._attn_implementation = "eager"
    cls = getattr(transformers, info.model_class)
    # Weights load as float32 on every device, whatever the checkpoint stores (a float16 one included): what the
    # pages show (attention maps, probabilities) must not depend on the device; inference is cheap at this size.
    try:
        with _LOAD_LOCK:  # two from_pretrained calls at once in one process corrupt each other ("meta tensor")
            model, loading = cls.from_pretrained(
                str(folder), config=config, use_safetensors=True, dtype=torch.float32,
                attn_implementation="eager", local_files_only=True, output_loading_info=True,
            )
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as exc:
        raise CheckpointError(f"{shown(name, 80)} could not be loaded: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    _check_weights_fit(model, loading, info)
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    info = dataclasses.replace(info, parameters=sum(p.numel() for p in model.parameters()))
    backend = getattr(tokenizer, "_tokenizer", None)  # shared by every session: keep its state constant
    if backend is not None:  # (no truncation/padding set, so calls without them never change it; see text.py)
        if backend.truncation is not None:
            backend.no_truncation()
        if backend.padding is not None:
            backend.no_padding()
    return Bundle(tokenizer=tokenizer, model=model, device=device, info=info)


@dataclass(frozen=True)
class ForwardOutput:
    mlm_logits: torch.Tensor | None  # (B, T, V)
    nsp_logits: torch.Tensor | None  # (B, 2) the sentence-pair head: NSP (BERT) or SOP (ALBERT), index 0 = in order
    attentions: tuple | None  # L x (B, H, T, T)
    hidden_states: tuple | None  # (L+1) x (B, T, D)
    rtd_logits: torch.Tensor | None = None  # (B, T) ELECTRA discriminator: logit that each token was replaced


_DERIVED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # model -> {name: object built from it}
_DERIVED_LOCK = threading.Lock()


def derived(model: torch.nn.Module, name: str, build):
    """An object built from a loaded model (a private copy, a view of its head), once per model and per name, kept
    as long as the model lives. The model itself is never changed (it is shared by every session)."""
    with _DERIVED_LOCK:
        per_model = _DERIVED.setdefault(model, {})
        if name not in per_model:
            per_model[name] = build(model)
        return per_model[name]


def model_inputs(bundle: Bundle, encoding: dict) -> dict:
    """The tensors this family's model takes, on its device (DistilBERT and ModernBERT take no token_type_ids)."""
    keys = ("input_ids", "attention_mask") + (("token_type_ids",) if bundle.family.segments else ())
    return {k: v.to(bundle.device) for k, v in encoding.items() if k in keys}


@torch.inference_mode()
def forward(bundle: Bundle, encoding: dict, attentions: bool = False, hidden_states: bool = False,
            mlm: bool = True) -> ForwardOutput:
    """One forward pass through whichever heads the checkpoint has. `mlm=False` skips the MLM head
    (a (T, V) projection that costs more than the encoder of a small model) when only the pair head or the
    encoder's outputs are needed."""
    batch = model_inputs(bundle, encoding)
    flags = dict(output_attentions=attentions, output_hidden_states=hidden_states, return_dict=True)
    info = bundle.info
    if not mlm:
        out = bundle.encoder(**batch, **flags)
        head = submodule(bundle.model, bundle.family.pair_head) if info.has_pair else None
        pair = head(out.pooler_output) if head is not None else None
        return ForwardOutput(None, pair, out.attentions if attentions else None,
                             out.hidden_states if hidden_states else None)
    out = bundle.model(**batch, **flags)
    only = [h for h, ok in ((MLM, info.has_mlm), (PAIR, info.has_pair), (RTD, info.has_rtd)) if ok]
    single = getattr(out, "logits", None) if len(only) == 1 else None  # a one-head class puts it in .logits
    mlm_logits = getattr(out, "prediction_logits", None)
    pair = getattr(out, "seq_relationship_logits", None)
    if pair is None:
        pair = getattr(out, "sop_logits", None)
    return ForwardOutput(
        mlm_logits=mlm_logits if mlm_logits is not None else (single if only == [MLM] else None),
        nsp_logits=pair if pair is not None else (single if only == [PAIR] else None),
        attentions=out.attentions if attentions else None,
        hidden_states=out.hidden_states if hidden_states else None,
        rtd_logits=single if only == [RTD] else None,
    )
