"""Why did the model say that: three rankings of the input tokens for one prediction, and a test of them.

A *target* is one number the model computes: the probability of its top guess at a [MASK], of its NSP
decision, or of a fine-tuned classifier's label. For it we rank the input tokens three ways:

- raw attention from the prediction's position (the mask, or [CLS] for NSP and labels), one layer and head
  or the mean over heads;
- attention rollout (Abnar & Zuidema 2020, `attention.rollout`) up to the last layer, same row;
- gradient x input and integrated gradients (Sundararajan et al. 2017) over the token embeddings, with
  Captum. IG's attributions sum to f(x) - f(baseline) up to the reported convergence delta.

Then a deletion test: replace the top-k tokens of each ranking by [MASK] and read the target's probability
again, k = 1..K, against random orderings. The ranking whose curve falls fastest explains the prediction
best, on this input.

Why Captum's `IntegratedGradients` on the embedding vectors and not `LayerIntegratedGradients` on the
embedding layer: they compute the same thing (LIG integrates the word-embedding layer's output, which is what
we pass as `inputs_embeds`; tests check they agree), but LIG registers a forward hook on the model's
embedding layer for the whole run, and the app's model is one object shared by every session: another
session's forward pass during that time would read the hook's interpolated embeddings. Passing the
embeddings ourselves needs no hook, and it allows the zero baseline, which LIG can only express through
input ids.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..checkpoints.models import forward
from ..core.errors import PlaygroundError
from ..core.notices import Notice, warning
from .attention import rollout
from .targets import CLI_TARGETS, label_target, mask_target, nsp_target  # noqa: F401 (re-exported)
from .targets import Target, device_of, probability_from_embeddings, probability_from_ids, word_embeddings

BASELINES = ("mask", "pad", "zero")
# [MASK] by default: it is the token BERT was trained to read as "a word is here, but hidden", so the baseline
# stays an input the model knows (a [PAD] is never attended to in training, and a zero vector is no token at
# all), and it is what the deletion test puts in place of the tokens it removes.
DEFAULT_BASELINE = "mask"
DEFAULT_STEPS = 32
MAX_STEPS = 500
MAX_WORK = 32_768  # IG steps x tokens: 512 tokens at 64 steps, 128 at 256 (forward + backward passes)


def max_steps(n_tokens: int) -> int:
    """The most IG steps allowed for an input of `n_tokens` (MAX_STEPS, and steps x tokens <= MAX_WORK)."""
    return max(1, min(MAX_STEPS, MAX_WORK // max(n_tokens, 1)))


DELTA_WARN = 0.05  # warn when |delta| exceeds this share of |f(x) - f(baseline)|


# ---- attention and rollout ------------------------------------------------------------------

def attentions(target: Target) -> np.ndarray:
    """(L, H, T, T) attention maps of the target's input, from the model's own forward pass."""
    ids = torch.tensor([target.input_ids])
    batch = {"input_ids": ids, "token_type_ids": torch.tensor([target.token_type_ids]),
             "attention_mask": torch.ones_like(ids)}
    if target.bundle is not None:
        att = forward(target.bundle, batch, attentions=True, mlm=False).attentions
    else:
        with torch.inference_mode():
            att = target.encoder(**{k: v.to(device_of(target)) for k, v in batch.items()}, output_attentions=True).attentions
    return torch.stack([a[0] for a in att]).float().cpu().numpy()  # (L, H, T, T)


def attention_scores(att: np.ndarray, position: int, layer: int | None = None, head: int | None = None) -> np.ndarray:
    """(T,) attention from `position` to every token: `layer` (default: the last), `head` (None: mean)."""
    n_layers, n_heads = att.shape[:2]
    layer = n_layers - 1 if layer is None else layer
    if not 0 <= layer < n_layers:
        raise PlaygroundError(f"Layer {layer + 1} does not exist: the model has {n_layers}.")
    if head is not None and not 0 <= head < n_heads:
        raise PlaygroundError(f"Head {head + 1} does not exist: the model has {n_heads} per layer.")
    rows = att[layer, :, position] if head is None else att[layer, head, position][None]  # (H', T)
    return rows.mean(0)


def rollout_scores(att: np.ndarray, position: int) -> np.ndarray:
    """(T,) attention rollout through every layer, the row of `position`."""
    return rollout(att)[-1][position]


# ---- gradients --------------------------------------------------------------------------------

def baseline_embeddings(target: Target, baseline: str = DEFAULT_BASELINE) -> torch.Tensor:
    """(1, T, D) baseline: every candidate token's embedding replaced by [MASK]'s, [PAD]'s or zeros;
    the fixed positions ([CLS], [SEP], the masks) keep theirs."""
    if baseline not in BASELINES:
        raise PlaygroundError(f"Unknown baseline '{baseline}': use one of {', '.join(BASELINES)}.")
    x = word_embeddings(target)  # (1, T, D)
    cand = torch.tensor(target.candidates, dtype=torch.long, device=x.device)
    b = x.clone()
    if baseline == "zero":
        b[0, cand] = 0.0
    else:
        tid = target.mask_id if baseline == "mask" else target.pad_id
        b[0, cand] = word_embeddings(target, torch.tensor([[tid]], device=x.device))[0, 0]
    return b


def grad_x_input(target: Target) -> np.ndarray:
    """(T,) gradient x input: d f / d e_t . e_t for each token embedding e_t (Captum's InputXGradient)."""
    from captum.attr import InputXGradient

    x = word_embeddings(target).requires_grad_(True)
    attr = InputXGradient(lambda e: probability_from_embeddings(target, e)).attribute(x)  # (1, T, D)
    return attr.sum(-1)[0].detach().float().cpu().numpy()


def check_ig(target: Target, steps: int) -> None:
    """Refuse runs that would take minutes: steps in 1..MAX_STEPS, steps x tokens <= MAX_WORK."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise PlaygroundError(f"IG steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}.")
    if steps * len(target) > MAX_WORK:
        most = max(1, MAX_WORK // len(target))  # (max_steps(target) when under MAX_STEPS)
        raise PlaygroundError(
            f"{steps} IG steps on {len(target)} tokens is {steps * len(target):,} forward and backward passes of one "
            f"token, more than the {MAX_WORK:,} allowed here: use at most {most} steps for this input, "
            "or shorten the text.")


ATTENTION_BUDGET = 256 * 2**20  # bytes of attention tensors one internal IG batch may keep for its backward pass


def batch_size(target: Target) -> int:
    """Interpolation points per forward/backward pass: about 4k tokens, and at most ATTENTION_BUDGET of the (L, H,
    T, T) attention tensors the backward pass keeps (scores, probabilities and their dropout mask: ~3 of them)."""
    cfg, t = target.encoder.config, len(target)
    per_point = cfg.num_hidden_layers * cfg.num_attention_heads * t * t * 4 * 3  # bytes
    return max(1, min(64, 4096 // t, ATTENTION_BUDGET // per_point))


@dataclass(frozen=True)
class IGCost:
    """What integrated gradients will cost, said before it starts."""
    steps: int
    tokens: int
    batch_size: int  # interpolation points per pass
    passes: int  # forward and backward passes (then two forward passes for the completeness check)
    seconds: float  # the estimate, from one timed forward pass of this input on this machine

    def sentence(self) -> str:
        return (f"{self.steps} steps on {self.tokens} tokens: {self.passes} forward and backward passes of "
                f"{self.batch_size} × {self.tokens} tokens, about {_duration(self.seconds)} here.")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} minutes"


def ig_cost(target: Target, steps: int) -> IGCost:
    """The cost of `integrated_gradients(target, steps=steps)`: its passes, and seconds estimated from one timed
    forward pass of a batch (a backward pass costs about two forward passes)."""
    check_ig(target, steps)
    size = batch_size(target)
    passes = math.ceil(steps / size)
    x = word_embeddings(target).expand(size, -1, -1)  # (B, T, D)
    with torch.inference_mode():
        t0 = time.perf_counter()
        probability_from_embeddings(target, x)
        forward = time.perf_counter() - t0
    return IGCost(steps, len(target), size, passes, passes * 3 * forward + 2 * forward / size)


@dataclass(frozen=True)
class IG:
    scores: np.ndarray  # (T,) attribution per token (sum over the embedding dimensions)
    delta: float  # sum(attributions) - (f(x) - f(baseline)), Captum's convergence delta
    baseline_probability: float  # f(baseline)
    steps: int
    baseline: str


def integrated_gradients(target: Target, baseline: str = DEFAULT_BASELINE, steps: int = DEFAULT_STEPS,
                         on_progress: Callable[[float], None] | None = None, stop=None) -> IG:
    """Integrated gradients over the token embeddings, from `baseline` to the input (Captum, Gauss-Legendre), in
    internal batches of `batch_size(target)` points (memory bounded); `stop` (an Event) ends it between passes."""
    from captum.attr import IntegratedGradients

    check_ig(target, steps)
    x, b = word_embeddings(target), baseline_embeddings(target, baseline)  # (1, T, D) each
    size = batch_size(target)
    total, done = math.ceil(steps / size) + 2, [0]  # gradient batches, then f(x) and f(baseline) for delta

    def f(e):
        if stop is not None and stop.is_set():
            raise PlaygroundError("Integrated gradients stopped before the end: nothing to show.")
        out = probability_from_embeddings(target, e)
        done[0] += 1
        if on_progress is not None:
            on_progress(min(1.0, done[0] / total))
        return out

    attr, delta = IntegratedGradients(f).attribute(x, baselines=b, n_steps=steps, internal_batch_size=size,
                                                   return_convergence_delta=True)  # (1, T, D), (1,)
    with torch.inference_mode():
        fb = float(probability_from_embeddings(target, b)[0])
    return IG(attr.sum(-1)[0].detach().float().cpu().numpy(), float(delta[0]), fb, steps, baseline)


# ---- the deletion test -------------------------------------------------------------------------

def ranking(scores: np.ndarray, candidates: list[int]) -> list[int]:
    """Candidate positions, highest score first (ties: the earlier position first)."""
    return sorted(candidates, key=lambda i: (-float(scores[i]), i))


def auc(probability: float, curve) -> float:
    """Area under the deletion curve from k = 0 (the input) to K, divided by K: lower falls faster."""
    y = np.concatenate([[probability], np.asarray(curve, dtype=np.float64)])
    return float(((y[1:] + y[:-1]) / 2).mean())


@dataclass(frozen=True, eq=False)
class Deletion:
    k: list[int]  # 1..K
    curves: dict[str, list[float]]  # method -> f after deleting its top k tokens, k = 1..K
    random_mean: list[float]
    random_low: list[float]  # 10th percentile over the random orderings
    random_high: list[float]  # 90th percentile
    orderings: int  # number of random orderings
    areas: dict[str, float]  # method (and 'random') -> area under its curve (see `auc`)


def deletion_test(target: Target, rankings: dict[str, list[int]], k_max: int = 10, orderings: int = 20,
                  seed: int = 0) -> Deletion:
    """Replace the top-k tokens of each ranking (and of random orderings) by [MASK]; f for k = 1..K."""
    cand = target.candidates
    if not cand:
        raise PlaygroundError("There is no token to delete: the input is only special tokens and masks.")
    if isinstance(k_max, bool) or not isinstance(k_max, int) or k_max < 1:
        raise PlaygroundError(f"K must be a positive whole number, got {k_max!r}.")
    big_k = min(k_max, len(cand))
    rng = np.random.default_rng(seed)
    orders = dict(rankings)
    randoms = [list(rng.permutation(cand)) for _ in range(orderings)]
    rows, keys = [], []
    base = torch.tensor(target.input_ids)
    for name, order in list(orders.items()) + [(f"random{r}", o) for r, o in enumerate(randoms)]:
        for k in range(1, big_k + 1):
            ids = base.clone()
            ids[list(order[:k])] = target.mask_id
            rows.append(ids)
            keys.append(name)
    probs = probability_from_ids(target, torch.stack(rows), batch_size(target)).numpy()  # (N,)
    curves, at = {}, 0
    for name in keys[::big_k]:
        curves[name] = probs[at:at + big_k].astype(float).tolist()
        at += big_k
    rand = np.array([curves.pop(f"random{r}") for r in range(orderings)]) if orderings else np.full((1, big_k), np.nan)
    mean = rand.mean(0)
    areas = {name: auc(target.probability, c) for name, c in curves.items()}
    areas["random"] = float(np.mean([auc(target.probability, r) for r in rand])) if orderings else float("nan")
    return Deletion(list(range(1, big_k + 1)), curves, mean.tolist(), np.percentile(rand, 10, axis=0).tolist(),
                    np.percentile(rand, 90, axis=0).tolist(), orderings, areas)


# ---- all of it ---------------------------------------------------------------------------------

METHODS = ("attention", "rollout", "grad_x_input", "integrated_gradients")
DELETION_METHODS = ("attention", "rollout", "integrated_gradients")


@dataclass(frozen=True, eq=False)
class Explanation:
    target: Target
    scores: dict[str, np.ndarray]  # METHODS -> (T,)
    ig: IG
    deletion: Deletion
    layer: int  # of the raw attention (0-based)
    head: int | None  # None = mean over heads

    @property
    def change(self) -> float:
        """f(x) - f(baseline): what IG's attributions should add up to."""
        return self.target.probability - self.ig.baseline_probability

    @property
    def delta_large(self) -> bool:
        return abs(self.ig.delta) > max(DELTA_WARN * abs(self.change), 1e-3)

    @property
    def notices(self) -> tuple[Notice, ...]:
        out = list(self.target.notices)
        if self.delta_large:
            out.append(warning(f"IG's convergence delta ({self.ig.delta:.2g}) is large next to f(input) - "
                               f"f(baseline) ({self.change:.2g}): the attributions do not add up yet; raise the steps."))
        return tuple(out)

    def to_dict(self) -> dict:
        d = self.deletion
        return {
            "target": self.target.kind, "prediction": self.target.prediction, "probability": self.target.probability,
            "tokens": list(self.target.tokens),
            "scores": {m: [float(v) for v in self.scores[m]] for m in METHODS},
            "ig_delta": self.ig.delta,
            "deletion": {"k": d.k, **{m: d.curves[m] for m in DELETION_METHODS}, "random": d.random_mean},
        }


def explain(target: Target, baseline: str = DEFAULT_BASELINE, steps: int = DEFAULT_STEPS, layer: int | None = None,
            head: int | None = None, k_max: int = 10, orderings: int = 20, seed: int = 0,
            on_progress: Callable[[float], None] | None = None, ig: IG | None = None) -> Explanation:
    """Attention, rollout, gradient x input and IG for one target, and the deletion test of three of them.
    `ig`: integrated gradients already computed for this target (with this baseline and steps)."""
    check_ig(target, steps)
    if baseline not in BASELINES:
        raise PlaygroundError(f"Unknown baseline '{baseline}': use one of {', '.join(BASELINES)}.")
    if ig is not None and (ig.baseline, ig.steps, len(ig.scores)) != (baseline, steps, len(target)):
        raise PlaygroundError("The integrated gradients given were computed with other settings or another input.")
    att = attentions(target)  # (L, H, T, T)
    layer = att.shape[0] - 1 if layer is None else layer
    scores = {"attention": attention_scores(att, target.position, layer, head),
              "rollout": rollout_scores(att, target.position),
              "grad_x_input": grad_x_input(target)}
    ig = ig if ig is not None else integrated_gradients(target, baseline, steps, on_progress)
    scores["integrated_gradients"] = ig.scores
    cand = target.candidates
    deletion = deletion_test(target, {m: ranking(scores[m], cand) for m in DELETION_METHODS}, k_max, orderings, seed)
    return Explanation(target, scores, ig, deletion, layer, head)
