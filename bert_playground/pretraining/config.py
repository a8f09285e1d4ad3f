"""Pre-training's settings (`PretrainConfig`: every default lives here), its progress (`TrainState`) and the
learning-rate schedule over steps or wall time."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..core import training
from ..core.errors import PlaygroundError
from ..core.training import PRECISIONS

PAIR_TASKS = ("nsp", "sop", "none")  # BERT's next sentence, ALBERT's sentence order, RoBERTa's none
EVAL_RATE = 0.15  # held-out MLM accuracy is always measured at BERT's 15%, 80/10/10: recipes compare on one scale
SAVE_DTYPES = ("float16", "float32")  # the checkpoint's weights on disk (training always runs in float32 weights)
PRESETS = {  # --init scratch configs (vocab size comes from the tokenizer)
    "tiny": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256),
    "mini": dict(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "minilm": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
}


@dataclass(frozen=True)
class PretrainConfig:
    corpus: str  # glob(s), comma-separated, of WikiExtractor files (.xz allowed)
    out: str  # the checkpoint folder written (and resumed from)
    init: str = "minilm"  # 'minilm' | 'scratch' | a checkpoint folder
    preset: str = "minilm"  # config for --init scratch: a PRESETS name or a config.json path
    eval_corpus: str | None = None  # default: hold out the last `eval_docs` documents
    eval_docs: int = 200  # held-out documents
    eval_pairs: int = 1000  # held-out NSP pairs scored at each evaluation
    seq_len: int = 128  # tokens per packed pair, [CLS] and both [SEP]s included (8..512)
    batch_size: int = 32  # pairs per optimisation step
    lr: float = 1e-4  # peak learning rate
    weight_decay: float = 0.01  # AdamW decay on weight matrices (not on biases and LayerNorm)
    warmup_steps: int = 100  # linear warm-up, then linear decay to 10% (`schedule`)
    max_steps: int | None = None  # steps in this run (the tighter of steps and seconds ends it)
    max_seconds: float | None = None  # wall time of this run
    epochs: int = 100  # passes over the corpus, each with new pairs
    train_layers: int | None = None  # train only the top K encoder layers + heads (CPU runs); None: all
    mask_rate: float = 0.15  # share of tokens chosen for MLM
    mask_split: tuple[float, float, float] = (0.8, 0.1, 0.1)  # of the chosen: [MASK], a random token, kept
    static_masking: int = 0  # 0: dynamic (new pairs and masks every epoch); N: BERT's original, made once in N copies
    whole_word: bool = False  # choose all pieces of a word together
    pair_task: str = "nsp"  # one of PAIR_TASKS: the two-way pair head learns IsNext, in-order, or nothing
    probes: tuple[str, ...] = ()  # texts with [MASK] whose top-3 guesses each snapshot records
    snapshot_every: int | None = None  # steps between snapshots (step 0 included); None: none
    short_seq_prob: float = 0.1  # share of training pairs with a random shorter length (BERT: 0.1)
    sentence_pair_prob: float = 0.0  # share of pairs that are one sentence A + one sentence B (everyday NSP pairs)
    near_negative_prob: float = 0.0  # share of NotNext B from A's own document, several sentences away (not BERT's)
    person_matched_prob: float = 0.0  # share of NotNext B in the person of A's real continuation (not BERT's)
    pair_keep: float = 0.0  # weight of KL(start || now) on the pair head: learning without forgetting (not BERT's)
    group_by_length: bool = False  # batch pairs of similar length and trim their padding (`length_grouped_batches`)
    seed: int = 0  # pairs, masking draws and initial weights
    log_every: int = 20  # steps between log lines
    eval_every: int = 200  # steps between held-out evaluations
    save_every_seconds: float = 300.0  # checkpoint while training, at most this often
    save_dtype: str = "float16"  # one of SAVE_DTYPES
    max_docs: int | None = None  # use only the first N training documents
    device: str | None = None  # None: `device.choose_device()`
    precision: str = "auto"  # 'auto' (bf16 autocast on CUDA, float32 on CPU) | 'bf16' | 'fp32'

    def __post_init__(self):
        for what in ("short_seq_prob", "sentence_pair_prob", "near_negative_prob", "person_matched_prob", "mask_rate"):
            if not 0.0 <= getattr(self, what) <= 1.0:
                raise PlaygroundError(f"{what} must be between 0 and 1, not {getattr(self, what)}.")
        if self.precision not in PRECISIONS:
            raise PlaygroundError(f"precision must be one of {', '.join(PRECISIONS)}, not '{self.precision}'.")
        if self.save_dtype not in SAVE_DTYPES:
            raise PlaygroundError(f"save dtype must be one of {', '.join(SAVE_DTYPES)}, not '{self.save_dtype}'.")
        if self.batch_size < 1 or not 8 <= self.seq_len <= 512 or not self.lr > 0:
            raise PlaygroundError("--batch-size must be >= 1, --seq-len between 8 and 512, --lr > 0.")
        split = tuple(self.mask_split)
        if len(split) != 3 or any(not 0.0 <= x <= 1.0 for x in split) or abs(sum(split) - 1.0) > 1e-6:
            raise PlaygroundError(f"the mask split ([MASK], random, kept) must be three shares summing to 100%, not "
                                  f"{', '.join(f'{100 * x:g}' for x in split)}.")
        if isinstance(self.static_masking, bool) or not isinstance(self.static_masking, int) or self.static_masking < 0:
            raise PlaygroundError("static masking must be 0 (dynamic) or a number of copies >= 1.")
        if self.pair_task not in PAIR_TASKS:
            raise PlaygroundError(f"pair task must be one of {', '.join(PAIR_TASKS)}, not '{str(self.pair_task)[:20]}'.")
        for what, flag in (("near_negative_prob", "near"), ("person_matched_prob", "person-matched")):
            if getattr(self, what) and self.pair_task != "nsp":
                raise PlaygroundError(f"{flag} NotNext pairs (--{what.replace('_', '-')}) exist only with the NSP "
                                      f"pair task, not '{self.pair_task}'.")
        if not 0.0 <= self.pair_keep < float("inf"):
            raise PlaygroundError(f"pair_keep must be a weight >= 0, not {self.pair_keep}.")
        if self.pair_keep and (self.pair_task != "nsp" or self.init in ("minilm", "scratch")):
            raise PlaygroundError("--pair-keep keeps the NSP head of the checkpoint it starts from: it needs the NSP "
                                  f"pair task and --init a checkpoint folder, not '{self.pair_task}' from '{self.init}'.")
        if self.snapshot_every is not None and self.snapshot_every < 1:
            raise PlaygroundError("--snapshot-every must be a number of steps >= 1.")

    def masking(self):
        """The training draw's MaskingConfig (rate, split, whole words)."""
        from ..objectives.masking import MaskingConfig

        return MaskingConfig(rate=self.mask_rate, mask_share=self.mask_split[0], random_share=self.mask_split[1],
                             whole_word=self.whole_word)

    def recipe(self) -> dict:
        """Every recipe knob, defaults included (the result's `recipe`)."""
        return {"mask_rate": self.mask_rate, "mask_split": list(self.mask_split), "static_masking": self.static_masking,
                "whole_word": self.whole_word, "pair_task": self.pair_task, "short_seq_prob": self.short_seq_prob,
                "sentence_pair_prob": self.sentence_pair_prob, "near_negative_prob": self.near_negative_prob,
                "person_matched_prob": self.person_matched_prob, "pair_keep": self.pair_keep,
                "seq_len": self.seq_len, "batch_size": self.batch_size,
                "lr": self.lr, "init": self.init, "preset": self.preset, "seed": self.seed}


@dataclass
class TrainState:
    step: int = 0
    epoch: int = 0
    tokens_seen: int = 0
    elapsed: float = 0.0
    history: list = field(default_factory=list)


def lr_factor(step: int, elapsed: float, cfg: PretrainConfig) -> float:
    """Linear warm-up, then linear decay to 10% over whichever budget (steps or seconds) is tighter."""
    done = 0.0
    if cfg.max_steps:
        done = max(done, step / cfg.max_steps)
    if cfg.max_seconds:
        done = max(done, elapsed / cfg.max_seconds)
    return training.lr_factor(step, cfg.warmup_steps, done, floor=0.1)
