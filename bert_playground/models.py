"""Loading BERT-family checkpoints: the embedded one, a local folder, or a Hub id.

Rules: safetensors only, never remote code, eager attention (so attention maps can be
returned), float32 on the CPU whatever the dtype on disk. The family (BERT, RoBERTa, DistilBERT,
ALBERT, ELECTRA, ModernBERT: `families.py`) comes from config.json's model_type; the checkpoint
is loaded with the family's class that holds exactly the heads its weights have (e.g.
`BertForPreTraining` for MLM + NSP), and the missing ones are reported, never invented.
"""
from __future__ import annotations

import dataclasses
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import safe_open
import transformers
from transformers import AutoTokenizer, PretrainedConfig
from transformers.models.auto.configuration_auto import CONFIG_MAPPING

from transformers import CONFIG_MAPPING
from transformers.utils import logging as hf_logging

from .device import choose_device
from .errors import CheckpointError
from .families import FAMILIES, MLM, PAIR, RTD, SUPPORTED, Family, heads_from_weights, model_class
from .paths import EMBEDDED_DIR, files_in

hf_logging.disable_progress_bar()
EMBEDDED = "embedded"
ENV_MODEL = "BERT_PLAYGROUND_MODEL"
ENV_ALLOWED = "BERT_PLAYGROUND_ALLOWED_MODELS"  # server mode: comma-separated names; local paths refused
ENV_ROOT = "BERT_PLAYGROUND_CHECKPOINT_ROOT"  # a server for others reads local checkpoints only below this folder
OFFLINE_HINT = (
    "Offline alternatives: the 'embedded' checkpoint shipped in assets/model/, "
    "or a local checkpoint folder (config.json, *.safetensors and the tokenizer files)."
)


@dataclass(frozen=True)
class CheckpointInfo:
    name: str  # what the user asked for ('embedded', a path, a Hub id)
    source: str  # 'embedded' | 'local' | 'hub'
    path: str  # folder the weights came from (the Hub cache for Hub ids)
    layers: int
    heads: int
    hidden_size: int
    vocab_size: int
    max_length: int
    has_mlm: bool
    has_nsp: bool
    dtype_on_disk: str
    model_type: str = "bert"  # the family (families.FAMILIES)
    has_sop: bool = False  # ALBERT's sentence-order-prediction head (sop_classifier)
    has_rtd: bool = False  # ELECTRA discriminator's replaced-token-detection head
    model_class: str = ""  # the transformers class it was loaded with
    parameters: int = 0  # parameters of the loaded model (heads included)

    @property
    def family(self) -> Family:
        return FAMILIES[self.model_type]

    @property
    def has_pair(self) -> bool:
        """A sentence-pair head: NSP (BERT) or SOP (ALBERT); both read the pooled [CLS], index 0 = in order."""
        return self.has_nsp or self.has_sop

    @property
    def pair_task(self) -> str | None:
        return "nsp" if self.has_nsp else "sop" if self.has_sop else None

    @property
    def heads_present(self) -> list[str]:
        return [h for h, ok in (("MLM", self.has_mlm), ("NSP", self.has_nsp), ("SOP", self.has_sop),
                                ("RTD", self.has_rtd)) if ok]

    @property
    def missing_heads(self) -> list[str]:
        """Heads the family's pre-training had that this checkpoint lacks."""
        fam = self.family
        if fam.model_type == "electra":  # a discriminator or a generator: either is complete
            return [] if self.has_rtd or self.has_mlm else ["RTD"]
        want = [("MLM", self.has_mlm)] + ([(fam.pair_task.upper(), self.has_pair)] if fam.pair_task else [])
        return [h for h, ok in want if not ok]


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


def default_name() -> str:
    return os.environ.get(ENV_MODEL) or EMBEDDED


def allowed_models(extra: str | None = None) -> list[str] | None:
    """Server (classroom) mode: the checkpoints this server may load, or None when unrestricted.
    From $BERT_PLAYGROUND_ALLOWED_MODELS or `extra` (e.g. the app's secrets), comma-separated."""
    raw = os.environ.get(ENV_ALLOWED) or extra
    if not raw:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    return names or None


def _check_allowed(name: str, allowed: list[str] | None) -> None:
    if allowed is not None and name not in allowed:
        raise CheckpointError(
            f"This server runs in classroom mode and only loads: {', '.join(allowed)}. "
            "Local folders and other Hub ids are disabled here."
        )


def _safetensors_files(folder: Path) -> list[str]:
    return [str(p) for p in files_in(folder, ".safetensors")]  # the folder's name is data, never a glob pattern


def _weight_keys(files: list[str]) -> tuple[set[str], str]:
    keys, dtype = set(), "unknown"
    for f in files:
        with safe_open(f, framework="pt") as st:
            for k in st.keys():
                keys.add(k)
            if dtype == "unknown":
                for k in st.keys():
                    if k.endswith(("word_embeddings.weight", "tok_embeddings.weight")):
                        dtype = str(st.get_slice(k).get_dtype()).lower()
                        break
    return keys, dtype


def _check_folder(folder: Path, name: str) -> list[str]:
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):  # e.g. a file name longer than the file system allows
        is_dir = False
    if not is_dir:
        raise CheckpointError(f"Checkpoint folder '{name}' does not exist.")
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"'{name}' is not a checkpoint folder: it has no config.json.")
    files = _safetensors_files(folder)
    if not files:
        pickled = [p.name for p in files_in(folder, ".bin") + files_in(folder, ".pt")]
        if pickled:
            raise CheckpointError(
                f"'{name}' has only pickle weights ({', '.join(sorted(pickled))}); "
                "BERT Playground loads safetensors only, because pickle files can run code when read."
            )
        raise CheckpointError(f"'{name}' has a config.json but no *.safetensors weights.")
    if not has_tokenizer(folder):
        raise CheckpointError(f"'{name}' has no tokenizer ({', '.join(TOKENIZER_FILES)}).")
    return files


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")


def has_tokenizer(folder: Path) -> bool:
    return any((folder / f).is_file() for f in TOKENIZER_FILES)


def _looks_like_path(name: str) -> bool:
    try:
        return name.startswith((".", "/", "~")) or Path(name).expanduser().exists()
    except (OSError, ValueError):  # a name too long for a path
        return False


def checkpoint_root() -> Path | None:
    """The folder of checkpoints a server for others may read ($BERT_PLAYGROUND_CHECKPOINT_ROOT), resolved."""
    raw = (os.environ.get(ENV_ROOT) or "").strip()
    return Path(raw).expanduser().resolve() if raw else None


def _below_root(name: str, root: Path | None) -> Path:
    """A shared server's local folder: only below `root` (symlinks resolved, '..' cannot escape). Relative names are
    read inside the root. The refusal never depends on whether the path exists, so it reveals nothing."""
    if root is None:
        raise CheckpointError("This server is shared: it does not read local folders (the administrator can name a "
                              f"folder of checkpoints with {ENV_ROOT}). Use 'embedded' or a Hub id.")
    try:
        folder = (root / Path(name).expanduser()).resolve()
    except (OSError, ValueError, RuntimeError):  # a symlink loop, a name too long
        folder = None
    if folder is None or not folder.is_relative_to(root):
        raise CheckpointError("This server is shared: it reads local checkpoints only inside its checkpoint folder "
                              f"({ENV_ROOT}); give a folder name relative to it.")
    return folder


def _shared_path(name: str, root: Path | None) -> bool:
    """On a shared server a name is a path by its spelling (never by whether it exists), or a folder in the root."""
    if name.startswith((".", "/", "~", "\\")) or os.sep in name.strip("/") and name.count("/") != 1:
        return True
    try:  # an entry of the root (a folder or a link): revealing what the root holds is allowed
        return root is not None and os.path.lexists(root / name)
    except (OSError, ValueError):
        return False


def resolve(name: str | None, allowed: list[str] | None = None, shared: bool = False) -> tuple[str, str, Path | None]:
    """(name, source, local folder or None for the Hub). `allowed` (default: server mode's list, if any)
    restricts the names. `shared` (a server for others; always so in classroom mode): local folders are read
    only below $BERT_PLAYGROUND_CHECKPOINT_ROOT, and refused otherwise."""
    name = (name or default_name()).strip()
    if not name:
        raise CheckpointError("No checkpoint named. Use 'embedded', a local folder or a Hub id.")
    if len(name) > 1024 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise CheckpointError("That checkpoint name is not a usable folder or Hub id "
                              "(it is too long or contains control characters).")
    allowed = allowed if allowed is not None else allowed_models()
    _check_allowed(name, allowed)
    shared = shared or allowed is not None
    if name == EMBEDDED:
        if not (EMBEDDED_DIR / "config.json").is_file() or not _safetensors_files(EMBEDDED_DIR):
            raise CheckpointError(
                f"The embedded checkpoint is missing: {EMBEDDED_DIR} needs config.json, model.safetensors "
                "and the tokenizer files. Produce it with `python -m bert_playground pretrain`, "
                "or pick a local checkpoint folder or a Hub id."
            )
        return name, "embedded", EMBEDDED_DIR
    if shared:
        root = checkpoint_root()
        if _shared_path(name, root):
            if allowed is not None and root is None:
                raise CheckpointError("Loading from local folders is disabled on this server (classroom mode).")
            return name, "local", _below_root(name, root)
    elif _looks_like_path(name):
        return name, "local", Path(name).expanduser().resolve()
    if name.count("/") > 1 or any(c in name for c in ' \\:*?"<>|'):
        raise CheckpointError(f"'{name}' is neither an existing folder nor a valid Hugging Face Hub id.")
    return name, "hub", None


def cache_key(name: str | None, allowed: list[str] | None = None, shared: bool = False) -> str:
    """One key per checkpoint, whatever its spelling: 'embedded' for the embedded folder (also when typed as
    './assets/model' or 'assets/model/'), the resolved folder for a local one, the id for the Hub. The app's model
    cache is keyed by it, so each checkpoint is loaded once per process."""
    name, source, folder = resolve(name, allowed, shared)
    if folder is not None and folder.resolve() == EMBEDDED_DIR.resolve():
        return EMBEDDED
    return str(folder) if folder is not None else name


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
        raise CheckpointError(f"Could not load '{name}' from the Hugging Face Hub: {why}. {OFFLINE_HINT}") from None
    return Path(path)


def check_model_type(raw: dict, name: str) -> Family:
    """The checkpoint's family, or a clear refusal: remote-code-only and unsupported model types."""
    mt = raw.get("model_type")
    if isinstance(mt, str) and mt in FAMILIES:
        return FAMILIES[mt]
    # the model_type is named only when it is a known transformers type: never echo a file's content
    kind = f"'{mt}'" if isinstance(mt, str) and mt in CONFIG_MAPPING else "an unknown"
    if raw.get("auto_map"):
        raise CheckpointError(
            f"'{name}' needs its own Python code (config.json has auto_map for {kind} model_type); BERT Playground "
            f"never runs remote code. Supported families: {SUPPORTED}.")
    raise CheckpointError(
        f"'{name}' is {kind} checkpoint; BERT Playground runs BERT-architecture encoders of these families: {SUPPORTED}.")


def read_info(folder: Path, name: str, source: str) -> tuple[CheckpointInfo, PretrainedConfig]:
    files = _check_folder(folder, name)
    try:
        raw = json.loads((folder / "config.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:  # the message could quote the file: not shown
        raise CheckpointError(f"'{name}' has an unreadable config.json ({type(exc).__name__}).") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"'{name}' has a config.json that is not a JSON object.")
    fam = check_model_type(raw, name)
    try:
        config = CONFIG_MAPPING[fam.model_type].from_dict({k: v for k, v in raw.items() if k != "auto_map"})
        keys, dtype = _weight_keys(files)
    except Exception as exc:  # a corrupt or truncated file, a config with the wrong types (message not shown: it can
        raise CheckpointError(f"'{name}' could not be read ({type(exc).__name__}).") from None  # quote the file)
    layers = getattr(config, "num_hidden_layers", None)
    heads = getattr(config, "num_attention_heads", None)
    if not (isinstance(layers, int) and layers >= 1 and isinstance(heads, int) and heads >= 1):
        raise CheckpointError(f"'{name}' has a config.json with no layers or no attention heads.")
    cls_name, found = model_class(fam, heads_from_weights(fam, keys))
    info = CheckpointInfo(
        name=name, source=source, path=str(folder),
        layers=layers, heads=heads, hidden_size=config.hidden_size, vocab_size=config.vocab_size,
        max_length=config.max_position_embeddings,
        has_mlm=MLM in found, has_nsp=PAIR in found and fam.pair_task == "nsp", dtype_on_disk=dtype,
        model_type=fam.model_type, has_sop=PAIR in found and fam.pair_task == "sop", has_rtd=RTD in found,
        model_class=cls_name,
    )
    return info, config


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
        raise CheckpointError(f"'{name}' could not be loaded: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
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


def submodule(model: torch.nn.Module, path: str | None):
    """model.a.b for path 'a.b' (None when the path or a part of it is absent)."""
    for part in (path or "").split(".") if path else ():
        model = getattr(model, part, None)
        if model is None:
            return None
    return model if path else None


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
