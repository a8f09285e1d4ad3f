"""Hooks for interventions, named by what they touch (TransformerLens's idea), for one call and one thread only.

Sites, per layer i of the encoder (`Family.layers`):
  context       the heads' concatenated context vectors, (B, T, H * d), as they enter the attention output
                projection (`Family.attention_output`): head h is the slice [h*d, (h+1)*d) (Michel et al. 2019 switch
                a head off by zeroing it there);
  attention     that projection's output, (B, T, D): the attention block's contribution before the residual;
  feed_forward  the feed-forward block's last projection's output (`Family.ffn_output`), (B, T, D);
  layer         the layer's output, (B, T, D): the hidden state the next layer reads;
and `embeddings` (layer 0): the embedding layer's output.

`intervening(bundle, edits)` registers the hooks on the shared model, runs the body, and removes them. Each hook acts
only when the thread running the forward pass is the one that registered it with these very edits (a thread-local
`Edits`, compared by identity): another session's forward pass at the same moment, in its own thread, passes
through them untouched (also through hooks another call registered), and nothing is left on the model afterwards.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from ..checkpoints.parts import submodule
from ..core.errors import PlaygroundError

SITES = ("embeddings", "context", "attention", "feed_forward", "layer")
_LOCAL = threading.local()  # this thread's Edits while `intervening` runs


@dataclass
class Edits:
    """What one call changes and records. Layers and heads count from 0."""

    heads_off: dict[int, list[int]] = field(default_factory=dict)  # layer -> heads whose context is replaced
    head_values: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> (H, d): what they take (zero/mean)
    gates: torch.Tensor | None = None  # (L, H): every head's context times its gate (importance: gradients)
    patches: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    #                                  (site, layer) -> (rows (N,), positions (N,), values (N, D)) set in that output
    record: set[str] = field(default_factory=set)  # sites whose outputs are kept in `recorded`
    recorded: dict[tuple[str, int], torch.Tensor] = field(default_factory=dict)  # (site, layer) -> (B, T, D)


def layers(bundle) -> list[torch.nn.Module]:
    """The encoder's layers, or a clear refusal for a family whose layers share their weights (ALBERT)."""
    fam = bundle.family
    found = submodule(bundle.encoder, fam.layers) if fam.layers else None
    if found is None:
        raise PlaygroundError(f"{fam.name} uses one set of layer weights for every layer, so a hook cannot tell its "
                              "layers apart: interventions run on BERT, RoBERTa, DistilBERT, ELECTRA and ModernBERT.")
    return list(found)


def _edits() -> Edits | None:
    return getattr(_LOCAL, "edits", None)


def _context_hook(e: Edits, i: int, n_heads: int):
    def pre(module, args):
        if _edits() is not e or not (i in e.heads_off or e.gates is not None or "context" in e.record):
            return None
        x = args[0]
        b, t, hd = x.shape
        x = x.reshape(b, t, n_heads, hd // n_heads)  # (B, T, H, d)
        if "context" in e.record:
            e.recorded[("context", i)] = x.detach()
        if e.gates is not None:
            x = x * e.gates[i].view(1, 1, n_heads, 1)
        if i in e.heads_off:
            off = torch.zeros(n_heads, dtype=torch.bool, device=x.device)
            off[e.heads_off[i]] = True
            value = e.head_values.get(i, torch.zeros(n_heads, hd // n_heads, device=x.device)).to(x.dtype)
            x = torch.where(off.view(1, 1, n_heads, 1), value.view(1, 1, n_heads, -1), x)
        return (x.reshape(b, t, hd), *args[1:])
    return pre


def _output_hook(e: Edits, site: str, i: int):
    def post(module, args, out):
        if _edits() is not e or (site not in e.record and (site, i) not in e.patches):
            return None
        t = out[0] if isinstance(out, tuple) else out  # (B, T, D)
        if site in e.record:
            e.recorded[(site, i)] = t.detach()
        if (site, i) in e.patches:
            rows, positions, values = e.patches[(site, i)]
            t = t.clone()
            t[rows.to(t.device), positions.to(t.device)] = values.to(t.device, t.dtype)
        return (t, *out[1:]) if isinstance(out, tuple) else t
    return post


@contextmanager
def intervening(bundle, edits: Edits):
    """Run the body with `edits` in force for this thread's forward passes through `bundle`'s model."""
    fam, blocks = bundle.family, layers(bundle)
    n_heads = bundle.info.heads
    # prepended: they run before transformers' own output-capturing hooks, which then record the edited states
    handles = [bundle.encoder.embeddings.register_forward_hook(_output_hook(edits, "embeddings", 0), prepend=True)]
    for i, layer in enumerate(blocks):  # each hook acts only for this call's edits, in this thread
        attn, ffn = submodule(layer, fam.attention_output), submodule(layer, fam.ffn_output)
        handles += [attn.register_forward_pre_hook(_context_hook(edits, i, n_heads), prepend=True),
                    attn.register_forward_hook(_output_hook(edits, "attention", i), prepend=True),
                    ffn.register_forward_hook(_output_hook(edits, "feed_forward", i), prepend=True),
                    layer.register_forward_hook(_output_hook(edits, "layer", i), prepend=True)]
    previous, _LOCAL.edits = _edits(), edits
    try:
        yield edits
    finally:
        _LOCAL.edits = previous
        for h in handles:
            h.remove()


def parse_heads(spec: str | list, n_layers: int, n_heads: int, limit: int = 200) -> list[tuple[int, int]]:
    """'3.7,5.0' or [(3, 7), ...] -> [(layer, head)], 0-based, checked against the model's layers and heads."""
    items = [s for s in spec.replace(" ", "").split(",") if s] if isinstance(spec, str) else list(spec)
    if len(items) > limit:
        raise PlaygroundError(f"{len(items)} heads listed; at most {limit} (this model has {n_layers * n_heads}).")
    out = []
    for item in items:
        try:
            layer, head = (int(v) for v in (item.split(".") if isinstance(item, str) else item))
        except (ValueError, TypeError):
            raise PlaygroundError(f"'{str(item)[:20]}' is not a head: write LAYER.HEAD, e.g. 3.7 (from 0).") from None
        if not (0 <= layer < n_layers and 0 <= head < n_heads):
            raise PlaygroundError(f"Head {layer}.{head} does not exist: layers 0–{n_layers - 1}, heads 0–{n_heads - 1}.")
        if (layer, head) not in out:
            out.append((layer, head))
    if not out:
        raise PlaygroundError("Name at least one head to switch off, as LAYER.HEAD (e.g. 3.7).")
    return out
