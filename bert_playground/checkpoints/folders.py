"""What is known about a checkpoint before its weights load, without torch or transformers: which folder a name
means (embedded, a local folder, a Hub id) under the server's path rules, the folder checks (config.json,
safetensors only, a tokenizer), and `quick_info` read from config.json and the safetensors headers.

`models.load` runs these very checks before it loads (one implementation); the app's home page draws from
`quick_info` in milliseconds while the model loads in the background.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import CheckpointError, PlaygroundError, shown
from ..core.parsing import load_json
from ..core.paths import EMBEDDED_DIR, files_in
from .families import FAMILIES, MLM, PAIR, RTD, SUPPORTED, Family, heads_from_weights, model_class

EMBEDDED = "embedded"
ENV_MODEL = "BERT_PLAYGROUND_MODEL"
ENV_ALLOWED = "BERT_PLAYGROUND_ALLOWED_MODELS"  # server mode: comma-separated names; local paths refused
ENV_ROOT = "BERT_PLAYGROUND_CHECKPOINT_ROOT"  # a server for others reads local checkpoints only below this folder
OFFLINE_HINT = (
    "Offline alternatives: the 'embedded' checkpoint shipped in assets/model/, "
    "or a local checkpoint folder (config.json, *.safetensors and the tokenizer files)."
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model")
SIZES = ("num_hidden_layers", "num_attention_heads", "hidden_size", "vocab_size", "max_position_embeddings")
SIZE_ALIASES = {"distilbert": {"num_hidden_layers": "n_layers", "num_attention_heads": "n_heads", "hidden_size": "dim"}}
# (transformers' DistilBertConfig.attribute_map: config.json says n_layers, the config object num_hidden_layers)


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
    parameters: int = 0  # parameters of the loaded model (heads included); 0 until loaded
    custom_code_ignored: bool = False  # config.json names custom code (auto_map): never run, the standard class loads

    @property
    def notices(self) -> tuple[str, ...]:
        """What a user should know about how this checkpoint was read."""
        if self.custom_code_ignored:
            return (f"'{self.name}' names custom code in its config.json (auto_map): it is ignored, never run; the "
                    f"checkpoint is read as the standard {FAMILIES[self.model_type].name} architecture.",)
        return ()

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


MAX_CONFIG_BYTES = 1024 * 1024  # a model's config.json is a few kB
MAX_HEADER = 100 * 1024 * 1024  # bytes: the safetensors format's own limit on its JSON header


def safetensors_header(file: str) -> dict:
    """A safetensors file's header: {weight name: {"dtype", "shape", "data_offsets"}} (and "__metadata__").
    The format: an 8-byte little-endian length N, then N bytes of JSON. Read in plain Python: the home page
    shows a checkpoint before numpy, torch or safetensors' bindings are imported (numpy alone takes ~0.2 s)."""
    with open(file, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        if not 2 <= n <= min(MAX_HEADER, size - 8):
            raise ValueError("not a safetensors file (bad header length)")
        try:
            header = load_json(f.read(n).decode("utf-8"), "the safetensors header", max_depth=4)
        except (UnicodeDecodeError, PlaygroundError):
            raise ValueError("not a safetensors header") from None
    if not isinstance(header, dict) or not all(isinstance(v, dict) and "dtype" in v
                                               for k, v in header.items() if k != "__metadata__"):
        raise ValueError("not a safetensors header")
    for k, v in header.items():
        if k != "__metadata__" and v["data_offsets"][1] > size - 8 - n:
            raise ValueError("truncated safetensors file")
    return header


def weight_keys(files: list[str]) -> tuple[set[str], str]:
    """(weight names, dtype of the word embeddings on disk, e.g. 'f16') from the safetensors headers: no weight is
    read."""
    keys, dtype = set(), "unknown"
    for f in files:
        header = safetensors_header(f)
        names = [k for k in header if k != "__metadata__"]
        keys.update(names)
        if dtype == "unknown":
            dtype = next((str(header[k]["dtype"]).lower() for k in names
                          if k.endswith(("word_embeddings.weight", "tok_embeddings.weight"))), "unknown")
    return keys, dtype


def check_folder(folder: Path, name: str) -> list[str]:
    """The folder's safetensors files, or a clear refusal: no folder, no config.json, pickle weights only, no
    tokenizer."""
    try:
        is_dir = folder.is_dir()
    except (OSError, ValueError):  # e.g. a file name longer than the file system allows
        is_dir = False
    if not is_dir:
        try:
            is_file = folder.exists()
        except (OSError, ValueError):
            is_file = False
        if is_file:
            raise CheckpointError(f"{shown(name, 80)} is a file, not a checkpoint folder (a folder with config.json, "
                                  "*.safetensors weights and a tokenizer).")
        raise CheckpointError(f"Checkpoint folder {shown(name, 80)} does not exist.")
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{shown(name, 80)} is not a checkpoint folder: it has no config.json.")
    files = _safetensors_files(folder)
    if not files:
        pickled = [p.name for p in files_in(folder, ".bin") + files_in(folder, ".pt")]
        if pickled:
            raise CheckpointError(
                f"{shown(name, 80)} has only pickle weights ({', '.join(sorted(pickled))}); "
                "BERT Playground loads safetensors only, because pickle files can run code when read."
            )
        raise CheckpointError(f"{shown(name, 80)} has a config.json but no *.safetensors weights.")
    if not has_tokenizer(folder):
        raise CheckpointError(f"{shown(name, 80)} has no tokenizer ({', '.join(TOKENIZER_FILES)}).")
    return files


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
        raise CheckpointError(f"{shown(name, 80)} is neither an existing folder nor a valid Hugging Face Hub id.")
    return name, "hub", None


def cache_key(name: str | None, allowed: list[str] | None = None, shared: bool = False) -> str:
    """One key per checkpoint, whatever its spelling: 'embedded' for the embedded folder (also when typed as
    './assets/model' or 'assets/model/'), the resolved folder for a local one, the id for the Hub. The app's model
    cache is keyed by it, so each checkpoint is loaded once per process."""
    name, source, folder = resolve(name, allowed, shared)
    if folder is not None and folder.resolve() == EMBEDDED_DIR.resolve():
        return EMBEDDED
    return str(folder) if folder is not None else name


def read_config(folder: Path, name: str) -> dict:
    """config.json as a dict, or a clear refusal (its content is never quoted: it could be anything)."""
    try:
        text = (folder / "config.json").read_text()
        if len(text) > MAX_CONFIG_BYTES:
            raise CheckpointError(f"{shown(name, 80)} has a config.json of {len(text):,} characters: not a model's config.")
        raw = load_json(text, "config.json")
    except (OSError, UnicodeDecodeError, PlaygroundError) as exc:  # the message could quote the file: not shown
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{shown(name, 80)} has an unreadable config.json ({type(exc).__name__}).") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{shown(name, 80)} has a config.json that is not a JSON object.")
    return raw


def check_model_type(raw: dict, name: str) -> Family:
    """The checkpoint's family, or a clear refusal: remote-code-only and unsupported model types."""
    mt = raw.get("model_type")
    if isinstance(mt, str) and mt in FAMILIES:
        return FAMILIES[mt]
    from transformers import CONFIG_MAPPING  # only to word the refusal (this import loads torch)

    # the model_type is named only when it is a known transformers type: never echo a file's content
    kind = f"'{mt}'" if isinstance(mt, str) and mt in CONFIG_MAPPING else "an unknown"
    if raw.get("auto_map"):
        raise CheckpointError(
            f"{shown(name, 80)} needs its own Python code (config.json has auto_map for {kind} model_type); BERT Playground "
            f"never runs remote code. Supported families: {SUPPORTED}.")
    raise CheckpointError(
        f"{shown(name, 80)} is {kind} checkpoint; BERT Playground runs BERT-architecture encoders of these families: {SUPPORTED}.")


def make_info(name: str, source: str, folder: Path, fam: Family, sizes: dict, keys: set, dtype: str,
              raw: dict | None = None) -> CheckpointInfo:
    """The checkpoint's description from its config sizes (SIZES) and weight names; the heads come from the weights."""
    layers, heads = sizes.get("num_hidden_layers"), sizes.get("num_attention_heads")
    if not (isinstance(layers, int) and layers >= 1 and isinstance(heads, int) and heads >= 1):
        raise CheckpointError(f"{shown(name, 80)} has a config.json with no layers or no attention heads.")
    cls_name, found = model_class(fam, heads_from_weights(fam, keys))
    return CheckpointInfo(
        name=name, source=source, path=str(folder),
        layers=layers, heads=heads, hidden_size=sizes["hidden_size"], vocab_size=sizes["vocab_size"],
        max_length=sizes["max_position_embeddings"],
        has_mlm=MLM in found, has_nsp=PAIR in found and fam.pair_task == "nsp", dtype_on_disk=dtype,
        model_type=fam.model_type, has_sop=PAIR in found and fam.pair_task == "sop", has_rtd=RTD in found,
        model_class=cls_name, custom_code_ignored=bool((raw or {}).get("auto_map")),
    )


def _hub_cached(name: str) -> Path | None:
    """The folder of a Hub checkpoint already in the local cache (never the network), or None."""
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(name, "config.json")
    except Exception:  # no cache, an odd id: the real load will say what is wrong
        return None
    return Path(hit).parent if isinstance(hit, str) else None


def quick_info(name: str | None = None, allowed: list[str] | None = None, shared: bool = False) -> CheckpointInfo | None:
    """What `models.load(name).info` will say (less `parameters`), from config.json and the safetensors headers alone:
    milliseconds, no torch. None when that needs the loaded config (a Hub id not downloaded yet, a config.json that
    leaves sizes to the class defaults). Raises the CheckpointError `load` raises for a refused name or a bad folder."""
    name, source, folder = resolve(name, allowed, shared)
    if folder is None:
        folder = _hub_cached(name)
        if folder is None:
            return None
    files = check_folder(folder, name)
    raw = read_config(folder, name)
    fam = check_model_type(raw, name)
    alias = SIZE_ALIASES.get(fam.model_type, {})
    sizes = {k: raw.get(alias.get(k, k)) for k in SIZES}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in sizes.values()):
        return None  # class defaults or odd types: only transformers' config class knows
    try:
        keys, dtype = weight_keys(files)
    except Exception as exc:  # a corrupt or truncated file (message not shown: it can quote the file)
        raise CheckpointError(f"{shown(name, 80)} could not be read ({type(exc).__name__}).") from None
    return make_info(name, source, folder, fam, sizes, keys, dtype, raw)
